"""The sync layer: the destinations the marts are delivered to, and the HTTP they share."""
