"""Vision ops (TVM's ``topi.vision``): region-of-interest pooling for detection networks
(``roi_align_nchw``, ``roi_align_nhwc``, ``roi_pool_nchw``, also under ``topi.vision.rcnn``) and
non-maximum suppression (``get_valid_counts``, ``non_max_suppression``, also under ``topi.vision.nms``) and
YOLO's ``reorg``."""

from . import nms, rcnn
from .nms import get_valid_counts, non_max_suppression
from .rcnn import roi_align_nchw, roi_align_nhwc, roi_pool_nchw
from .reorg import reorg

__all__ = ["nms", "get_valid_counts", "non_max_suppression",
           "rcnn", "roi_align_nchw", "roi_align_nhwc", "roi_pool_nchw", "reorg"]
