"""Data sources, assets, cleaning, splits and the Lightning datamodule."""
