"""The mobile web survey channel (H5 page opened from an SMS link or a QR code): an adapter over the engine."""
