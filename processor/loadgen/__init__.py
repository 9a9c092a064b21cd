"""`tokenstream loadgen`: realistic synthetic streaming traffic over OTLP, in OpenLLMetry's convention."""
