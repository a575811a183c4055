"""The local cloud: moto's AWS endpoint plus what moto lacks (a Lambda runtime, SAM,
executing state machines, an API front door, a Twilio stand-in, persistence)."""
