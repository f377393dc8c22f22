"""Text pieces shared by the text data and the transformer encoder: local pretrained directories."""
