"""Kafka plumbing shared by the kafka exporter and receiver: client settings (TLS, SASL), record
headers, topic creation, and the embedded Tansu broker used when no brokers are configured."""
