"""Image ops (TVM's ``topi.image``): resizing of 2-D images in NCHW or NHWC tensors."""

from .resize import resize2d

__all__ = ["resize2d"]
