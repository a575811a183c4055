"""gluelab: the Serverless Glue Workshop's library (local cloud, deploy, Twilio stand-in, checks)."""

__all__ = ["client", "settings"]


def __getattr__(name: str):
    # gluelab.config (and boto3 with it) is imported when first asked for: the local cloud's
    # process (python -m gluelab.cloud.server) turns the garbage collector off before its imports
    if name in __all__:
        from gluelab import config
        return getattr(config, name)
    raise AttributeError(f"module 'gluelab' has no attribute {name!r}")
