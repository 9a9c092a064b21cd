"""What every queued exporter (kafka, otlp, otlphttp) shares, after the Collector's exporterhelper: the bounded
sending queue and its on-disk log, the Delivery a `consume` call waits on, and the counters of what left them."""
