"""Image ops (TVM's ``topi.image``): resizing of 1-, 2- and 3-D data in channels-first or -last tensors."""

from .resize import resize1d, resize2d, resize3d

__all__ = ["resize1d", "resize2d", "resize3d"]
