"""Models: shared stem, content encoder Ec, segmenter Gc, style encoders Es/Et, generators Gs/Gt,
output-space and image discriminators (paper Fig. 1, DISE's architecture)."""
from .backbone import ASPPClassifier, Segmenter
from .discriminators import ImageDiscriminator, OutputDiscriminator
from .generator import Generator
from .init_weights import InitWeightsError, load_init_weights
from .style import StyleEncoder
from .zsct import ZSCTModel, build_model, describe_input
