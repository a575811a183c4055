"""gluelab: the Serverless Glue Workshop's library (local cloud, deploy, Twilio stand-in, checks)."""

from gluelab.config import client, settings

__all__ = ["client", "settings"]
