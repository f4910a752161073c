import pytest
import torch

from zsct_lib.config import ModelConfig
from zsct_lib.models import InitWeightsError, ZSCTModel, build_model, load_init_weights


def test_tiny_shapes():
    model = ZSCTModel(ModelConfig(preset="tiny"))
    x = torch.rand(2, 3, 64, 128)
    stem, content, aux = model.encode(x)
    assert content.shape == (2, 64, 16, 32) and aux is None
    assert model.predict(x).shape == (2, 19, 64, 128)
    code = model.style_source(stem)
    assert code.shape == (2, 8)
    image = model.gen_target(code, content)
    assert image.shape == x.shape and image.min() >= 0 and image.max() <= 1
    assert model.disc_output(model.predict(x).softmax(1)).shape[1] == 1


def test_frozen_bn_keeps_statistics():
    model = ZSCTModel(ModelConfig(preset="tiny", freeze_bn=True)).train()
    before = model.stem.conv1[1].running_mean.clone()
    model.predict(torch.rand(2, 3, 32, 64) * 5)
    assert torch.equal(before, model.stem.conv1[1].running_mean)
    assert not model.stem.conv1[1].weight.requires_grad


@pytest.mark.slow
def test_deeplab_preset_and_init_weights(tmp_path):
    import torchvision

    from zsct_lib.models import describe_input

    model = ZSCTModel(ModelConfig(preset="deeplabv2_r101"))
    with torch.no_grad():
        stem, content, aux = model.encode(torch.rand(1, 3, 64, 64))
    assert content.shape == (1, 2048, 9, 9) and aux.shape == (1, 1024, 9, 9)   # output stride 8, H/8 + 1 (ceil-mode pool)
    # a torchvision ImageNet-layout state dict loads with key mapping (fc dropped), its own input convention
    resnet = torchvision.models.resnet101(weights=None)
    torch.nn.init.constant_(resnet.conv1.weight, 0.5)
    path = tmp_path / "resnet101.pth"
    torch.save(resnet.state_dict(), path)
    report = load_init_weights(model, path)
    assert report["loaded"] > 300 and torch.all(model.stem.conv1.weight == 0.5)
    assert (report["layout"], report["input_convention"], report["unused"]) == ("torchvision", "torchvision", ["fc.weight", "fc.bias"])
    # a DeepLab-style init with the Scale. prefix and a 19-class layer5 classifier
    deeplab = {f"Scale.{k}": v for k, v in resnet.state_dict().items() if not k.startswith("fc.")}
    for i in range(4):
        deeplab[f"Scale.layer5.conv2d_list.{i}.weight"] = torch.full((19, 2048, 3, 3), 0.25)
        deeplab[f"Scale.layer5.conv2d_list.{i}.bias"] = torch.zeros(19)
    torch.save(deeplab, path)
    load_init_weights(model, path)
    assert torch.all(model.segmenter.classifier.branches[2].weight == 0.25)
    # through build_model, "auto" takes the file's convention and writes it into the config (the run records it)
    cfg = ModelConfig(preset="deeplabv2_r101", init_weights=str(path))
    built = build_model(cfg)
    assert cfg.input_convention == built.input_convention == "deeplab" and built.stem.normalize.bgr
    assert "deeplab_v2 layout" in describe_input(built)[0] and "tensors loaded" in describe_input(built)[1]
    overridden = ModelConfig(preset="deeplabv2_r101", init_weights=str(path), input_convention="torchvision")
    assert "expects deeplab" in describe_input(build_model(overridden))[0] and overridden.input_convention == "torchvision"
    # a file for another network is refused with the keys named
    torch.save({"conv1.weight": torch.zeros(3, 3, 3, 3)}, path)
    with pytest.raises(InitWeightsError, match="does not match.*conv1.weight"):
        load_init_weights(model, path)


def test_checkpoint_of_another_input_convention_is_refused(tmp_path):
    """A checkpoint records its input convention in its config; a model that normalises otherwise does
    not take its weights (the fix named). Older checkpoints of the preset (no key) were torchvision's."""
    from types import SimpleNamespace

    from zsct_lib.checkpoint import CheckpointError, load_checkpoint

    model = SimpleNamespace(preset="deeplabv2_r101", num_classes=19, input_convention="torchvision")
    state = {"preset": "deeplabv2_r101", "num_classes": 19, "config": {"model": {"input_convention": "deeplab"}}}
    with pytest.raises(CheckpointError, match="'deeplab' convention.*set model.input_convention=deeplab"):
        load_checkpoint("run/checkpoint.pt", model, state=state)
    model.input_convention = "deeplab"
    state["config"]["model"] = {}
    with pytest.raises(CheckpointError, match="'torchvision' convention"):
        load_checkpoint("run/checkpoint.pt", model, state=state)


def test_init_weights_missing_or_unreadable(tmp_path):
    model = ZSCTModel(ModelConfig(preset="tiny"))
    with pytest.raises(InitWeightsError, match="does not exist"):
        load_init_weights(model, tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(InitWeightsError, match="could not be read"):
        build_model(ModelConfig(preset="tiny", init_weights=str(junk)))


# ---- the generators: resize-convolution and AdaIN (style that steers) --------------------------

def test_resize_upsampling_has_no_checkerboard_and_transposed_has():
    """A constant feature map stays constant (away from the border) through nearest x2 + conv; a
    transposed convolution with stride 2 paints a periodic pattern on it."""
    from zsct_lib.models.generator import upsampling

    torch.manual_seed(0)
    for mode, flat in (("resize", True), ("transposed", False)):
        layers, _ = upsampling(8, 4, mode, norm=False)
        with torch.no_grad():
            out = layers(torch.ones(1, 8, 16, 16))[..., 3:-3, 3:-3]
        spread = float(out.std(dim=(2, 3)).max())
        assert (spread == 0.0) if flat else (spread > 1e-3), (mode, spread)


def test_adain_strips_the_content_colour_and_takes_it_from_the_code():
    """AdaIN normalises each channel of each image: a gain of the content map does not reach the
    output at all, a change of the style code does."""
    from zsct_lib.models.generator import AdaINGenerator, adaptive_instance_norm

    x = torch.randn(2, 4, 6, 6)
    out = adaptive_instance_norm(3 * x + 5, torch.zeros(2, 4), torch.zeros(2, 4))
    assert torch.allclose(out, adaptive_instance_norm(x, torch.zeros(2, 4), torch.zeros(2, 4)), atol=1e-4)
    shifted = adaptive_instance_norm(x, torch.full((2, 4), 1.0), torch.full((2, 4), 0.5))
    assert torch.allclose(shifted.mean(dim=(2, 3)), torch.full((2, 4), 0.5), atol=1e-5)     # shift sets the mean
    assert torch.allclose(shifted.std(dim=(2, 3), unbiased=False), torch.full((2, 4), 2.0), atol=1e-3)

    torch.manual_seed(0)
    generator = AdaINGenerator(16, style_dim=8, width=16, stride=4)
    content, code = torch.randn(2, 16, 8, 16), torch.randn(2, 8)
    with torch.no_grad():
        base = generator(code, content)
        assert base.shape == (2, 3, 32, 64) and base.min() >= 0 and base.max() <= 1
        by_code = (generator(3 * torch.randn(2, 8), content) - base).abs().mean()
        by_gain = (generator(code, content * 2.0) - base).abs().mean()
    assert by_gain < 1e-4 and by_code > 1e-3, (float(by_code), float(by_gain))


def test_reconstruction_gradient_reaches_the_style_encoder_more_through_adain():
    """Eq 11 through Gt: the gradient into Et is several times larger when the code sets AdaIN scales
    than when it is concatenated (DISE), where the code is one input among many."""
    norms = {}
    for generator, upsample in (("dise", "transposed"), ("adain", "resize")):
        torch.manual_seed(0)
        model = ZSCTModel(ModelConfig(preset="tiny", base_channels=16, generator=generator, generator_upsample=upsample))
        images = torch.rand(2, 3, 32, 64, generator=torch.Generator().manual_seed(1))
        stem, content, _ = model.encode(images)
        rebuilt = model.gen_target(model.style_target(stem), content)
        torch.nn.functional.l1_loss(rebuilt, images).backward()
        norms[generator] = sum(float(p.grad.norm()) ** 2 for p in model.style_target.parameters()) ** 0.5
    assert norms["adain"] > 3 * norms["dise"], norms


def test_unknown_generator_is_a_config_error():
    from zsct_lib.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="model.generator"):
        load_config("tiny", ["model.generator=munit"])


def test_skip_decoder_predicts_at_output_stride_2():
    model = ZSCTModel(ModelConfig(preset="tiny", base_channels=8, decoder="skip"))
    images = torch.rand(2, 3, 32, 64)
    stem, content, skip = model.encode(images)
    assert content.shape[-2:] == (8, 16) and skip.shape[-2:] == (16, 32)
    logits, aux_logits = model.segmenter(content, skip)
    assert logits.shape == (2, 19, 16, 32) and aux_logits is None          # stride 2, no auxiliary head
    assert model.predict(images).shape == (2, 19, 32, 64)
    default = ZSCTModel(ModelConfig(preset="tiny", base_channels=8))
    assert default.segmenter(*default.encode(images)[1:])[0].shape == (2, 19, 8, 16)   # stride 4


def test_batch_norm_hides_a_domain_colour_shift_from_the_style_code_and_no_norm_keeps_it():
    """The trainer encodes each domain's batch in its own call. In training mode a batch norm then
    standardises each batch by its own statistics, so a style encoder cannot learn to tell a domain
    that is darker throughout from the original: asked for code 1 on one and 0 on the other (eq 5's
    task), it stays at the loss of guessing 1/2 for both. Without the norms it learns the task."""
    from zsct_lib.models.backbone import TinyStem
    from zsct_lib.models.style import StyleEncoder

    torch.manual_seed(0)
    pool = torch.rand(16, 3, 32, 64) * 0.6 + 0.2
    final_loss = {}
    for norm in ("batch", "none"):
        torch.manual_seed(1)
        stem, encoder = TinyStem(8, norm).train(), StyleEncoder(8, 1, (8, 16, 16), norm).train()
        optimizer = torch.optim.Adam([*stem.parameters(), *encoder.parameters()], lr=3e-3)
        draw = torch.Generator().manual_seed(0)
        for _ in range(120):
            own = pool[torch.randint(0, 16, (2,), generator=draw)]
            other = pool[torch.randint(0, 16, (2,), generator=draw)] * 0.7        # the darker domain
            loss = (encoder(stem(own)) - 1).abs().mean() + encoder(stem(other)).abs().mean()   # separate calls
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final_loss[norm] = loss.item()
    assert final_loss["batch"] > 0.4 and final_loss["none"] < 0.2, final_loss


def test_style_and_stem_norm_options():
    from zsct_lib.config import ConfigError, load_config

    model = ZSCTModel(ModelConfig(preset="tiny", base_channels=8, style_norm="none", stem_norm="none"))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in (*model.stem.modules(), *model.style_source.modules()))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.content_encoder.modules())   # Ec keeps its BN
    assert model.predict(torch.rand(2, 3, 32, 64)).shape == (2, 19, 32, 64)
    with pytest.raises(ConfigError, match="model.style_norm"):
        load_config("tiny", ["model.style_norm=instance"])
    with pytest.raises(ConfigError, match="model.stem_norm"):
        load_config("tiny", ["model.stem_norm=group"])


def test_content_norm_instance_removes_each_image_own_gain_and_offset_from_the_content_map():
    """model.content_norm=instance: Ec reads its stem features normalised per image and channel, so a
    per-channel gain and offset of one image's stem features leave its content map unchanged."""
    import torch

    from zsct_lib.config import ConfigError, load_config
    from zsct_lib.models import build_model

    torch.manual_seed(0)
    stem = torch.rand(2, 32, 16, 32)
    gain, offset = torch.rand(2, 32, 1, 1) + 0.5, torch.rand(2, 32, 1, 1)
    plain = build_model(load_config(None).model).content_encoder.eval()
    normed = build_model(load_config(None, ["model.content_norm=instance"]).model).content_encoder.eval()
    assert torch.allclose(normed(stem * gain + offset)[0], normed(stem)[0], atol=1e-3)   # eps of the norm only
    assert not torch.allclose(plain(stem * gain + offset)[0], plain(stem)[0], atol=1e-2)
    with pytest.raises(ConfigError, match="model.content_norm"):
        load_config(None, ["model.content_norm=batch"])
