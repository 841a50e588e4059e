"""The live channel: values pushed to browsers as they change (see ``channel``)."""
