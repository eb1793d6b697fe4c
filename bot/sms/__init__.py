"""SMS senders (Aliyun, Twilio-compatible) and their providers' callbacks (delivery receipts, upstream replies)."""
