"""zsct: zero-style loss and tail-class content transfer for UDA semantic segmentation."""
__version__ = "0.1.0"
