"""expansion: warehouse-native cross-sell, upsell and revenue-retention marts, orchestrated by Dagster."""
