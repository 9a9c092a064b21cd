from processor.component import Factory, Kind
from processor.extensions.health_check.config import HealthCheckConfig
from processor.extensions.health_check.extension import HealthCheckExtension

factory = Factory(
    type="health_check",
    kind=Kind.EXTENSION,
    config_model=HealthCheckConfig,
    create=lambda settings, config, _next: HealthCheckExtension(settings, config),
    description="HTTP health endpoint: 200 while running, 503 while starting or draining",
)
