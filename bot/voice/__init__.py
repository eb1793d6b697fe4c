"""The automated voice call channel (智能外呼): provider adapters (TwiML first) over the engine's voice view."""
