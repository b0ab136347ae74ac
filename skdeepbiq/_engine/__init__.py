"""The torch engine: images in, crop features out.

Backbones (torchvision's and EfficientNet-Lite), their taps and trunk, crop
geometry and cutting, forward passes, streaming, the runtime (device,
precision, batch size, threads), feature caches and image reading at a
viewing scale. It imports nothing of the package but its exceptions.
"""
