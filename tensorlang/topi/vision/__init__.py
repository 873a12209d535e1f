"""Vision ops (TVM's ``topi.vision``): region-of-interest pooling for detection networks
(``roi_align_nchw``, ``roi_align_nhwc``, ``roi_pool_nchw``, also under ``topi.vision.rcnn``)."""

from . import rcnn
from .rcnn import roi_align_nchw, roi_align_nhwc, roi_pool_nchw

__all__ = ["rcnn", "roi_align_nchw", "roi_align_nhwc", "roi_pool_nchw"]
