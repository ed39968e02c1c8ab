"""One small module per input format; ``services.ingest.extract`` dispatches to them."""
