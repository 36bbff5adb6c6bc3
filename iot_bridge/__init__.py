"""MQTT bridge: device events -> verified, batched, signed transactions (not built yet)."""
