# Writes torchvision's state_dict keys, dtypes and shapes (in order) for the models the engine mirrors, as
# fixtures for ModelsTest. Needs torch + torchvision (Debian: python3-torch 1.13, python3-torchvision 0.14):
#   /usr/bin/python3 dump_state_dict_shapes.py   (run in this directory)
import torch
import torchvision.models as m

models = {
    "resnet18": m.resnet18(num_classes=1000),
    "resnet34": m.resnet34(num_classes=1000),
    "resnet50": m.resnet50(num_classes=1000),
    "alexnet": m.alexnet(num_classes=1000),
    "mobilenet_v2": m.mobilenet_v2(num_classes=1000),
}
for name, model in models.items():
    params = sum(p.numel() for p in model.parameters())
    with open(name + ".txt", "w") as f:
        f.write("# torchvision %s: %d parameters\n" % (name, params))
        for key, t in model.state_dict().items():
            f.write("%s %s %s\n" % (key, str(t.dtype).replace("torch.", ""), ",".join(str(d) for d in t.shape)))
    print(name, params)
