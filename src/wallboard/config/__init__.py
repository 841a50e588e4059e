"""The configuration service: the objects of each tenant (agents, groups, queues, access groups,
folders…), validated, stored in the metadata database, imported and exported, and followed live
by the collector and the web tier (docs/configuration.md)."""
