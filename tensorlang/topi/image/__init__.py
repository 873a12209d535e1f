"""Image ops (TVM's ``topi.image``): resizing of 1-, 2- and 3-D data in channels-first or -last tensors,
crop_and_resize, affine_grid and grid_sample, and morphological dilation."""

from .crop_and_resize import crop_and_resize
from .dilation2d import dilation2d_nchw, dilation2d_nhwc
from .grid_sample import affine_grid, grid_sample
from .resize import resize1d, resize2d, resize3d

__all__ = ["resize1d", "resize2d", "resize3d", "crop_and_resize", "affine_grid", "grid_sample", "dilation2d_nchw",
           "dilation2d_nhwc"]
