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

    model = ZSCTModel(ModelConfig(preset="deeplabv2_r101"))
    with torch.no_grad():
        stem, content, aux = model.encode(torch.rand(1, 3, 64, 64))
    assert content.shape == (1, 2048, 8, 8) and aux.shape == (1, 1024, 8, 8)   # output stride 8
    # a torchvision ImageNet-layout state dict loads with key mapping (fc dropped)
    resnet = torchvision.models.resnet101(weights=None)
    torch.nn.init.constant_(resnet.conv1.weight, 0.5)
    path = tmp_path / "resnet101.pth"
    torch.save(resnet.state_dict(), path)
    report = load_init_weights(model, path)
    assert report["loaded"] > 300 and torch.all(model.stem.conv1.weight == 0.5)
    # a DeepLab-style init with the Scale. prefix and a 19-class layer5 classifier
    deeplab = {f"Scale.{k}": v for k, v in resnet.state_dict().items() if not k.startswith("fc.")}
    for i in range(4):
        deeplab[f"Scale.layer5.conv2d_list.{i}.weight"] = torch.full((19, 2048, 3, 3), 0.25)
        deeplab[f"Scale.layer5.conv2d_list.{i}.bias"] = torch.zeros(19)
    torch.save(deeplab, path)
    load_init_weights(model, path)
    assert torch.all(model.segmenter.classifier.branches[2].weight == 0.25)
    # a file for another network is refused with the keys named
    torch.save({"conv1.weight": torch.zeros(3, 3, 3, 3)}, path)
    with pytest.raises(InitWeightsError, match="does not match.*conv1.weight"):
        load_init_weights(model, path)


def test_init_weights_missing_or_unreadable(tmp_path):
    model = ZSCTModel(ModelConfig(preset="tiny"))
    with pytest.raises(InitWeightsError, match="does not exist"):
        load_init_weights(model, tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(InitWeightsError, match="could not be read"):
        build_model(ModelConfig(preset="tiny", init_weights=str(junk)))
