"""CGCNN network, its LightningModule, checkpoint conversion and the prediction API."""
