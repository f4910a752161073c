"""The paper preset's network is the field's DeepLab-v2 ResNet-101 (AdaptSegNet, BDL, DISE): known
answers for its output shapes, its input conventions, the key-by-key mapping of each snapshot layout,
and its logits against a direct computation of the reference layout from a state dict."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from zsct_lib.config import ConfigError, load_config
from zsct_lib.models.backbone import ResNetContentEncoder, ResNetStem, Segmenter, input_normalization
from zsct_lib.models.init_weights import InitWeightsError, detect_layout, load_init_weights, map_keys

DEEPLAB_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)
SMALL_BLOCKS = (1, 2, 2, 1)          # the reference layout with fewer blocks: every kind of block, fast


# ---- input conventions ---------------------------------------------------------------------------

def test_one_pixel_under_each_input_convention():
    """RGB (0.2, 0.4, 0.6): torchvision standardises it in RGB order; the DeepLab-v2 init sees BGR in
    0-255 minus the Caffe mean (153 - 104.007 = 48.993 for blue); DISE divides that by 128."""
    pixel = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)
    expected = {
        "torchvision": [(0.2 - 0.485) / 0.229, (0.4 - 0.456) / 0.224, (0.6 - 0.406) / 0.225],
        "deeplab": [48.99301207, -14.66876762, -71.67891434],
        "dise": [0.3827579068, -0.1145997470, -0.5599915183],
    }
    for name, values in expected.items():
        out = input_normalization(name)(pixel).flatten()
        assert torch.allclose(out, torch.tensor(values), atol=1e-5), (name, out)
        assert torch.allclose(ResNetStem(name).normalize(pixel).flatten(), torch.tensor(values), atol=1e-5)
    with pytest.raises(ValueError, match="model.input_convention 'caffe'"):
        input_normalization("caffe")


def test_input_convention_and_aspp_sum_keys():
    cfg = load_config(None, ["model.preset=deeplabv2_r101", "model.input_convention=dise", "model.aspp_sum=two"])
    assert (cfg.model.input_convention, cfg.model.aspp_sum) == ("dise", "two")
    assert load_config("tiny").model.input_convention == "auto"            # the tiny presets do not change
    with pytest.raises(ConfigError, match="model.input_convention.*not one of"):
        load_config(None, ["model.preset=deeplabv2_r101", "model.input_convention=bgr"])
    with pytest.raises(ConfigError, match="for the deeplabv2_r101 preset"):
        load_config("tiny", ["model.aspp_sum=two"])


# ---- output shapes -----------------------------------------------------------------------------

@pytest.mark.slow
def test_output_shapes_equal_the_reference():
    """The reference's logits: 512x1024 -> 65x129, 256x512 -> 33x65, 720x1280 -> 91x161 (the ceil-mode
    max-pool, the stride on layer2's first 1x1 conv). Shapes only: the full ResNet-101 runs on the meta
    device, which computes no values."""
    with torch.device("meta"):
        stem, encoder = ResNetStem("deeplab"), ResNetContentEncoder()
        segmenter = Segmenter(2048, 19, aux_channels=1024)
        for (h, w), (oh, ow) in {(512, 1024): (65, 129), (256, 512): (33, 65), (720, 1280): (91, 161)}.items():
            features = stem(torch.empty(1, 3, h, w))
            logits, aux_logits = segmenter(*encoder(features))
            assert logits.shape == aux_logits.shape == (1, 19, oh, ow), (h, w, logits.shape)
    assert sum(len(getattr(encoder, f"layer{i}")) for i in range(1, 5)) == 33     # 3 + 4 + 23 + 3 blocks


# ---- a small network in the reference layout -----------------------------------------------------

class SmallDeepLab(nn.Module):
    """The preset's stem, Ec and Gc with fewer blocks: what `load_init_weights` fills."""

    preset = "deeplabv2_r101"

    def __init__(self, convention="deeplab", summed=4):
        super().__init__()
        self.stem, self.content_encoder = ResNetStem(convention), ResNetContentEncoder(SMALL_BLOCKS)
        self.segmenter = Segmenter(2048, 19, aux_channels=1024, summed=summed)

    def forward(self, images):
        return self.segmenter(*self.content_encoder(self.stem(images)))


def random_reference_state(layout: str, classes: int = 19, seed: int = 0) -> dict:
    """A state dict as the reference code names it (DeepLab-v2's `Scale.` prefix, DISE's `layer0`),
    random weights and batch-norm statistics."""
    generator = torch.Generator().manual_seed(seed)
    state = {}

    def tensor(*shape, positive=False):
        t = torch.randn(*shape, generator=generator)
        return t.abs() + 0.5 if positive else t

    def bn(prefix, n):
        state.update({f"{prefix}.weight": tensor(n, positive=True), f"{prefix}.bias": tensor(n) * 0.1,
                      f"{prefix}.running_mean": tensor(n) * 0.1, f"{prefix}.running_var": tensor(n, positive=True)})

    def conv(name, out, inp, k):
        state[name] = tensor(out, inp, k, k) * (2.0 / (inp * k * k)) ** 0.5

    conv("conv1.weight", 64, 3, 7)
    state["conv1.weight"] /= 100           # the Caffe init sees 0-255 inputs
    bn("bn1", 64)
    in_channels = 64
    for layer, (width, blocks) in enumerate(zip((64, 128, 256, 512), SMALL_BLOCKS), start=1):
        for b in range(blocks):
            p = f"layer{layer}.{b}"
            conv(f"{p}.conv1.weight", width, in_channels, 1)
            bn(f"{p}.bn1", width)
            conv(f"{p}.conv2.weight", width, width, 3)
            bn(f"{p}.bn2", width)
            conv(f"{p}.conv3.weight", 4 * width, width, 1)
            bn(f"{p}.bn3", 4 * width)
            if b == 0:
                conv(f"{p}.downsample.0.weight", 4 * width, in_channels, 1)
                bn(f"{p}.downsample.1", 4 * width)
            in_channels = 4 * width
    heads = {"deeplab_v2": {"layer5": 2048}, "deeplab_multi": {"layer5": 1024, "layer6": 2048},
             "dise": {"final1": 1024, "final2": 2048}, "torchvision": {}}[layout]
    for head, channels in heads.items():
        for i in range(4):
            state[f"{head}.conv2d_list.{i}.weight"] = tensor(classes, channels, 3, 3) * 0.01
            state[f"{head}.conv2d_list.{i}.bias"] = tensor(classes)
    if layout == "torchvision":
        state.update({"fc.weight": tensor(1000, 2048), "fc.bias": tensor(1000)})
    if layout == "deeplab_v2":
        state = {f"Scale.{k}": v for k, v in state.items()}
    if layout == "dise":
        state = {k.replace("conv1.", "layer0.0.", 1) if k.startswith("conv1.") else
                 k.replace("bn1.", "layer0.1.", 1) if k.startswith("bn1.") else k: v for k, v in state.items()}
    return state


def direct_reference_logits(state: dict, image: torch.Tensor, heads: dict, summed: int, std: float = 1.0) -> dict:
    """The reference network computed straight from a state dict with torch.nn.functional: BGR 0-255
    minus the Caffe mean (over `std`), conv1 7x7/2, BN, ReLU, max-pool 3x3/2 rounding up; bottlenecks
    with the stride on the first 1x1 conv, dilation 2 (layer3) and 4 (layer4) from the first block on;
    each head the sum of its first `summed` 3x3 convs with dilation = padding = 6, 12, 18, 24."""
    s = {k.removeprefix("Scale.").replace("layer0.0.", "conv1.").replace("layer0.1.", "bn1."): v    # DISE's stem names
         for k, v in state.items()}

    def bn(x, p):
        return F.batch_norm(x, s[f"{p}.running_mean"], s[f"{p}.running_var"], s[f"{p}.weight"], s[f"{p}.bias"],
                            training=False, eps=1e-5)

    mean = torch.tensor(DEEPLAB_MEAN_BGR).view(1, 3, 1, 1)
    x = (image[:, [2, 1, 0]] * 255 - mean) / std
    x = F.relu(bn(F.conv2d(x, s["conv1.weight"], stride=2, padding=3), "bn1"))
    x = F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)
    outputs = {}
    for layer, (stride, dilation) in enumerate(((1, 1), (2, 1), (1, 2), (1, 4)), start=1):
        for b in range(SMALL_BLOCKS[layer - 1]):
            p = f"layer{layer}.{b}"
            first_stride = stride if b == 0 else 1
            out = F.relu(bn(F.conv2d(x, s[f"{p}.conv1.weight"], stride=first_stride), f"{p}.bn1"))
            out = F.relu(bn(F.conv2d(out, s[f"{p}.conv2.weight"], padding=dilation, dilation=dilation), f"{p}.bn2"))
            out = bn(F.conv2d(out, s[f"{p}.conv3.weight"]), f"{p}.bn3")
            shortcut = bn(F.conv2d(x, s[f"{p}.downsample.0.weight"], stride=first_stride), f"{p}.downsample.1") \
                if b == 0 else x
            x = F.relu(out + shortcut)
        outputs[layer] = x
    logits = {}
    for head, layer in heads.items():
        logits[head] = sum(F.conv2d(outputs[layer], s[f"{head}.conv2d_list.{i}.weight"], s[f"{head}.conv2d_list.{i}.bias"],
                                    padding=d, dilation=d) for i, d in enumerate((6, 12, 18, 24)[:summed]))
    return logits


def test_init_layout_network_gives_the_logits_of_the_reference_computation(tmp_path):
    """A DeepLab-v2-layout file (random weights, `Scale.` prefix, a 19-class layer5 as in a BDL snapshot)
    loaded into the preset's modules: in eval mode its logits are those of the reference computed
    directly from the file (odd image size: the max-pool's rounding matters)."""
    torch.manual_seed(0)
    state = random_reference_state("deeplab_v2")
    path = tmp_path / "deeplab_init.pth"
    torch.save(state, path)
    model = SmallDeepLab("deeplab").eval()
    report = load_init_weights(model, path)
    assert (report["layout"], report["input_convention"], report["skipped_classifier"]) == ("deeplab_v2", "deeplab", [])
    image = torch.rand(1, 3, 45, 61, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits, _ = model(image)
        expected = direct_reference_logits(state, image, {"layer5": 4}, summed=4)["layer5"]
    assert logits.shape == expected.shape == (1, 19, 6, 8)       # 45x61 -> 23x31 -> 12x16 (rounded up) -> 6x8
    scale = float(expected.abs().max())
    assert float((logits - expected).abs().max()) < 1e-4 * scale, (float((logits - expected).abs().max()), scale)
    # the torchvision convention on the same weights is another network (the input is 57x too small)
    model.stem.normalize = input_normalization("torchvision")
    with torch.no_grad():
        assert float((model(image)[0] - expected).abs().max()) > 0.1 * scale


@pytest.mark.parametrize("layout, heads, std", [("deeplab_multi", {"layer5": 3, "layer6": 4}, 1.0),
                                                ("dise", {"final1": 3, "final2": 4}, 128.0)])
def test_two_head_snapshots_load_each_head_where_it_was_trained(tmp_path, layout, heads, std):
    """AdaptSegNet/BDL `DeeplabMulti` (layer5 on layer3, layer6 on layer4) and DISE's enc_shared (final1,
    final2): with aspp_sum=two, as their code ran, the main and auxiliary logits equal the reference's."""
    state = random_reference_state(layout, seed=2)
    path = tmp_path / f"{layout}.pth"
    torch.save({"enc_shared": state} if layout == "dise" else state, path)
    model = SmallDeepLab("dise" if layout == "dise" else "deeplab", summed=2).eval()
    report = load_init_weights(model, path)
    assert report["layout"] == layout and report["skipped_classifier"] == []
    image = torch.rand(1, 3, 41, 57, generator=torch.Generator().manual_seed(3))
    aux_head, main_head = heads
    with torch.no_grad():
        logits, aux_logits = model(image)
        expected = direct_reference_logits(state, image, heads, summed=2, std=std)
    assert torch.allclose(logits, expected[main_head], atol=1e-4, rtol=1e-4)
    assert torch.allclose(aux_logits, expected[aux_head], atol=1e-4, rtol=1e-4)
    # a run that loads such a snapshot into the default four-branch sum says so at its start
    from types import SimpleNamespace

    from zsct_lib.models import describe_input

    run = SimpleNamespace(preset="deeplabv2_r101", input_convention=report["input_convention"],
                          input_convention_origin="from the file", init_report=report, aspp_sum="four")
    assert f"note: {layout} snapshots were trained summing two ASPP branches" in describe_input(run)[-1]
    run.aspp_sum = "two"
    assert not any("note" in line for line in describe_input(run))


# ---- key by key ---------------------------------------------------------------------------------

def test_each_layout_maps_key_by_key_to_the_intended_module():
    cases = {
        "torchvision": {"conv1.weight": "stem.conv1.weight", "bn1.running_var": "stem.bn1.running_var",
                        "layer2.0.conv1.weight": "content_encoder.layer2.0.conv1.weight"},
        "deeplab_v2": {"conv1.weight": "stem.conv1.weight", "layer3.1.bn2.bias": "content_encoder.layer3.1.bn2.bias",
                       "layer5.conv2d_list.3.weight": "segmenter.classifier.branches.3.weight"},
        "deeplab_multi": {"layer5.conv2d_list.0.bias": "segmenter.aux_classifier.branches.0.bias",
                          "layer6.conv2d_list.2.weight": "segmenter.classifier.branches.2.weight",
                          "layer4.0.downsample.1.running_mean": "content_encoder.layer4.0.downsample.1.running_mean"},
        "dise": {"layer0.0.weight": "stem.conv1.weight", "layer0.1.running_mean": "stem.bn1.running_mean",
                 "final1.conv2d_list.1.weight": "segmenter.aux_classifier.branches.1.weight",
                 "final2.conv2d_list.1.bias": "segmenter.classifier.branches.1.bias"},
    }
    own = set(SmallDeepLab().state_dict())
    for layout, expected in cases.items():
        state = {k.removeprefix("Scale."): v for k, v in random_reference_state(layout).items()}
        assert detect_layout(state) == layout
        mapping, unused = map_keys(state, layout)
        for theirs, ours in expected.items():
            assert mapping[ours] == theirs, (layout, ours)
        assert set(mapping) <= own and len(set(mapping.values())) == len(mapping)       # one to one
        assert unused == (["fc.weight", "fc.bias"] if layout == "torchvision" else [])


def test_nothing_loads_crosswise(tmp_path):
    """A head on the wrong layer, a file from another part of DISE and a 21-class head are refused or
    skipped whole: no bias of one head lands in the other."""
    model = SmallDeepLab()
    swapped = random_reference_state("deeplab_multi")
    swapped["layer6.conv2d_list.0.weight"] = torch.zeros(19, 1024, 3, 3)       # main head on layer3's channels
    torch.save(swapped, tmp_path / "swapped.pth")
    with pytest.raises(InitWeightsError, match=r"layer6.conv2d_list.0.weight reads \(1024,\) channels.*classifier on 2048"):
        load_init_weights(model, tmp_path / "swapped.pth")
    torch.save({"cnn.0.weight": torch.zeros(64, 64, 7, 7)}, tmp_path / "enc_s.pth")
    with pytest.raises(InitWeightsError, match="cnn.0.weight.*DISE's private \\(style\\) encoder.*enc_shared.pth"):
        load_init_weights(model, tmp_path / "enc_s.pth")
    torch.save({"model": model.state_dict()}, tmp_path / "ours.pth")
    with pytest.raises(InitWeightsError, match="this library's own model.*train.init_checkpoint"):
        load_init_weights(model, tmp_path / "ours.pth")
    odd = random_reference_state("deeplab_v2")
    odd["Scale.layer7.weight"] = torch.zeros(3)
    torch.save(odd, tmp_path / "odd.pth")
    with pytest.raises(InitWeightsError, match="layer7.weight"):
        load_init_weights(model, tmp_path / "odd.pth")
    pascal = random_reference_state("deeplab_v2", classes=21)          # the init file's PASCAL head
    torch.save(pascal, tmp_path / "init.pth")
    before = {k: v.clone() for k, v in model.segmenter.state_dict().items()}
    report = load_init_weights(model, tmp_path / "init.pth")
    assert report["skipped_classifier"] == ["segmenter.classifier"]
    assert all(torch.equal(v, model.segmenter.state_dict()[k]) for k, v in before.items())
    assert torch.equal(model.stem.conv1.weight, pascal["Scale.conv1.weight"])
