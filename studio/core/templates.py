"""Starting points for File > New: small, valid, laid-out projects built with the project API.

``TEMPLATES`` maps a template's name to a function returning a fresh ``Project`` (a new one on
every call, so edits to one never reach another); ``new_from_template(name)`` wraps one in an
unmodified, unsaved ``Document``. Each template analyzes without problems and trains on the
bundled digits (the classifier reaches about 87% held-out accuracy in 5 epochs, about a second on
a CPU). Pure Python: no Qt, no torch.
"""

from __future__ import annotations

from collections.abc import Callable

from studio.core.document import Document
from studio.core.layout import layout_project
from studio.core.project import Project, ProjectError, slug


def classifier() -> Project:
    """Classifier: a small convolutional network on 16x16 digits (two 3x3 convolutions with ReLU
    and max pooling, then a linear layer to 10 classes), cross-entropy, Adam."""
    p = Project("Classifier")
    t = p.training
    t.configure(batch_size=64, epochs=10)
    data = t.add("Dataset", title="digits", id="digits", dataset="digits", size=16)
    logits = t.stack(
        data["image"],
        ("Conv2d", "conv1", dict(out_channels=8, kernel_size=3, padding=1)), ("ReLU", "relu1", {}),
        ("MaxPool2d", "pool1", dict(kernel_size=2)),
        ("Conv2d", "conv2", dict(out_channels=16, kernel_size=3, padding=1)),
        ("ReLU", "relu2", {}), ("MaxPool2d", "pool2", dict(kernel_size=2)),
        ("Flatten", "flatten", {}),
        ("Linear", "fc", dict(out_features=10)),
    )
    loss = t.add("CrossEntropy", title="loss", id="loss")
    t.connect(logits, loss["input"])
    t.connect(data["label"], loss["target"])
    t.chain(loss, t.add("Adam", title="adam", id="adam", lr=1e-3))
    return p


def dcgan(name: str = "DCGAN", latent: int = 64, width: int = 64, epochs: int = 60) -> Project:
    """A DCGAN on 16x16 digits: the discriminator applied to generated and to real images (one
    instance and a linked duplicate), two optimizers stepped discriminator first. ``width`` is
    the channel count of the widest-but-one layer (the example uses 64, the template 32)."""
    p = Project(name)
    g = p.network("Generator")
    z = g.add("Input", id="z")
    g.chain(g.stack(
        z,
        ("Reshape", "to_map", dict(shape=[latent, 1, 1])),
        ("ConvTranspose2d", "up1", dict(out_channels=2 * width, kernel_size=4, stride=1, padding=0,
                                        bias=False)),
        ("BatchNorm2d", "bn1", {}), ("ReLU", "relu1", {}),
        ("ConvTranspose2d", "up2", dict(out_channels=width, kernel_size=4, stride=2, padding=1,
                                        bias=False)),
        ("BatchNorm2d", "bn2", {}), ("ReLU", "relu2", {}),
        ("ConvTranspose2d", "up3", dict(out_channels=1, kernel_size=4, stride=2, padding=1)),
        ("Tanh", "tanh", {}),
    ), g.add("Output", id="image"))
    d = p.network("Discriminator")
    x = d.add("Input", id="image")
    d.chain(d.stack(
        x,
        ("Conv2d", "conv1", dict(out_channels=width, kernel_size=4, stride=2, padding=1)),
        ("LeakyReLU", "lrelu1", dict(negative_slope=0.2)),
        ("Conv2d", "conv2", dict(out_channels=2 * width, kernel_size=4, stride=2, padding=1,
                                 bias=False)),
        ("BatchNorm2d", "bn2", {}), ("LeakyReLU", "lrelu2", dict(negative_slope=0.2)),
        ("Conv2d", "conv3", dict(out_channels=1, kernel_size=4)),
        ("Flatten", "flatten", {}),
    ), d.add("Output", id="logit"))
    t = p.training
    t.configure(batch_size=64, epochs=epochs, preview_every=100, log_every=20)
    noise = t.add("Noise", title="z", id="z", size=latent)
    data = t.add("Dataset", title="digits", id="digits", dataset="digits", size=16, range="-1..1")
    gen = p.instance(t, "Generator", title="fake", id="generator")
    d_fake = p.instance(t, "Discriminator", title="fake_logit", id="discriminator")
    d_real = t.link("discriminator", title="real_logit", id="discriminator_real")
    t.connect(noise, gen)
    t.connect(gen, d_fake)
    t.connect(data["image"], d_real)
    loss_d = t.add("GANLoss", title="loss_d", id="loss_d", role="discriminator")
    t.connect(d_fake, loss_d["fake"])
    t.connect(d_real, loss_d["real"])
    loss_g = t.add("GANLoss", title="loss_g", id="loss_g", role="generator")
    t.connect(d_fake, loss_g["fake"])
    adam = dict(lr=2e-4, betas=(0.5, 0.999))
    t.chain(loss_d, t.add("Adam", title="adam_d", id="adam_d", updates=["Discriminator"],
                          order=1, **adam))
    t.chain(loss_g, t.add("Adam", title="adam_g", id="adam_g", updates=["Generator"], order=2,
                          **adam))
    t.chain(gen, t.add("Preview", title="samples", id="samples", value_range="-1..1"))
    return p


def gan() -> Project:
    """GAN: a small DCGAN on 16x16 digits. A Generator network (noise to image) and a
    Discriminator network applied to generated and to real images (one instance and a linked
    duplicate), a GAN loss for each, and two Adam optimizers stepped discriminator first."""
    return dcgan("GAN", latent=32, width=32, epochs=30)

def variational_autoencoder(name: str = "VAE", conditional: bool = False, latent: int = 16,
                            hidden: int = 256, epochs: int = 80) -> Project:
    """A VAE on 16x16 digits: encoder to (mu, log-variance), reparameterization, decoder, the
    loss BCE(sum) + KL, previews of reconstructions and of samples from the prior (a linked
    duplicate decoder). ``conditional`` also gives both networks the one-hot label, so the
    decoder draws a chosen digit: one row per class in the sample grid."""
    side = 16
    p = Project(name)
    enc = p.network("Encoder")
    x = enc.add("Input", id="image")
    flat = enc.stack(x, ("Flatten", "flatten", {}))
    if conditional:
        y = enc.add("Input", id="label")
        cat = enc.add("Concat", title="with_label")
        enc.connect(flat, cat)
        enc.connect(y, cat)
        flat = cat
    h = enc.stack(flat, ("Linear", "fc", dict(out_features=hidden)), ("ReLU", "relu", {}))
    enc.chain(enc.stack(h, ("Linear", "fc_mu", dict(out_features=latent))),
              enc.add("Output", id="mu"))
    enc.chain(enc.stack(h, ("Linear", "fc_logvar", dict(out_features=latent))),
              enc.add("Output", id="logvar"))
    dec = p.network("Decoder")
    z = dec.add("Input", id="z")
    start = z
    if conditional:
        y = dec.add("Input", id="label")
        cat = dec.add("Concat", title="with_label")
        dec.connect(z, cat)
        dec.connect(y, cat)
        start = cat
    dec.chain(dec.stack(
        start, ("Linear", "fc1", dict(out_features=hidden)), ("ReLU", "relu1", {}),
        ("Linear", "fc2", dict(out_features=side * side)), ("Sigmoid", "sigmoid", {}),
        ("Reshape", "to_image", dict(shape=[1, side, side])),
    ), dec.add("Output", id="image"))
    t = p.training
    t.configure(batch_size=64, epochs=epochs, preview_every=200, log_every=20,
                preview_count=100 if conditional else 64)
    data = t.add("Dataset", title="digits", id="digits", dataset="digits", size=side)
    encoder = p.instance(t, "Encoder", id="encoder")
    t.connect(data["image"], encoder["image"])
    sample = t.add("Reparameterize", title="z", id="reparameterize")
    t.connect(encoder["mu"], sample["mu"])
    t.connect(encoder["logvar"], sample["logvar"])
    decoder = p.instance(t, "Decoder", title="reconstruction", id="decoder")
    t.connect(sample, decoder["z"])
    if conditional:
        onehot = t.add("OneHot", title="label_onehot", id="onehot", num_classes=10)
        t.connect(data["label"], onehot)
        t.connect(onehot, encoder["label"])
        t.connect(onehot, decoder["label"])
    bce = t.add("BCE", title="reconstruction_loss", id="bce", reduction="sum")
    t.connect(decoder, bce["input"])
    t.connect(data["image"], bce["target"])
    kl = t.add("GaussianKL", title="kl", id="kl", reduction="sum")
    t.connect(encoder["mu"], kl["mu"])
    t.connect(encoder["logvar"], kl["logvar"])
    total = t.add("WeightedSum", title="loss", id="loss")
    t.connect(bce, total)
    t.connect(kl, total)
    t.chain(total, t.add("Adam", title="adam", id="adam", lr=1e-3))
    prior = t.add("Noise", title="prior_z", id="prior", size=latent)
    dec2 = t.link("decoder", title="prior_sample", id="decoder_prior")
    t.connect(prior, dec2["z"])
    if conditional:
        wanted = t.add("ClassLabels", title="wanted", id="wanted", classes=10)
        onehot2 = t.add("OneHot", title="wanted_onehot", id="wanted_onehot", num_classes=10)
        t.chain(wanted, onehot2)
        t.connect(onehot2, dec2["label"])
    t.chain(dec2, t.add("Preview", title="samples", id="samples", value_range="0..1",
                        nrow=10 if conditional else 8))
    t.chain(decoder, t.add("Preview", title="reconstructions", id="reconstructions",
                           value_range="0..1"))
    return p


def vae() -> Project:
    """VAE: a small variational autoencoder on 16x16 digits. An Encoder network (image to mu and
    log-variance), reparameterization, a Decoder network, the loss BCE(sum) + KL; previews show
    reconstructions and samples drawn from the prior through a linked duplicate decoder."""
    return variational_autoencoder("VAE", latent=8, hidden=128, epochs=40)


def blank() -> Project:
    """Blank: an empty project, to draw from scratch."""
    return Project("Untitled")


class TemplateError(ValueError):
    """No built-in dataset or loss fits what a template was asked to train."""


def train_imported(project: Project, model: str, input_shape: tuple, output_shape: tuple,
                   samples: int = 200) -> str:
    """The training graph around an imported model's network (``studio import``): a
    built-in image set of the input's shape, cross-entropy for class scores or a mean squared
    error for an output shaped like the input, Adam at a fine-tuning rate; returns the
    model's instance id."""
    t = project.training
    t.configure(batch_size=16, epochs=1)
    if len(input_shape) != 3 or input_shape[1] != input_shape[2] or input_shape[0] not in (1, 3):
        raise TemplateError(f"input {'x'.join(map(str, input_shape))}: the imported project "
                            "trains on a built-in image set, which needs square images with 1 "
                            "or 3 channels (for example 3x224x224)")
    data = t.add("Dataset", title="shapes", id="shapes", dataset="shapes", size=input_shape[1],
                 channels=input_shape[0], count=samples)
    inst = project.instance(t, model, id=slug(model))
    t.connect(data["image"], inst)
    if len(output_shape) == 1 and output_shape[0] >= 4:  # class scores; shapes has 4 classes
        loss = t.add("CrossEntropy", title="loss", id="loss")
        t.connect(inst, loss["input"])
        t.connect(data["label"], loss["target"])
    elif tuple(output_shape) == tuple(input_shape):
        loss = t.add("MSE", title="loss", id="loss")
        t.connect(inst, loss["input"])
        t.connect(data["image"], loss["target"])
    else:
        raise TemplateError(f"output {'x'.join(map(str, output_shape))}: no built-in loss "
                            "fits it (class scores of at least 4 classes, or an image like "
                            "the input)")
    t.chain(loss, t.add("Adam", title="adam", id="adam", lr=1e-4))
    return str(inst)


def _laid_out(build: Callable[[], Project]) -> Callable[[], Project]:
    def make() -> Project:
        project = build()
        layout_project(project)
        return project

    make.__name__, make.__doc__ = build.__name__, build.__doc__
    return make


# name -> function returning a fresh, laid-out Project (in the order File > New lists them)
TEMPLATES: dict[str, Callable[[], Project]] = {
    "classifier": _laid_out(classifier),
    "gan": _laid_out(gan),
    "vae": _laid_out(vae),
    "blank": _laid_out(blank),
}


def describe(name: str) -> str:
    """One line for the New dialog: 'Classifier: a small convolutional network ...'."""
    if name not in TEMPLATES:
        raise ProjectError(f"no template named {name!r} (templates: {', '.join(TEMPLATES)})")
    return " ".join((TEMPLATES[name].__doc__ or name).split())


def new_from_template(name: str) -> Document:
    """A new, unsaved and unmodified document holding a fresh copy of template ``name``."""
    if name not in TEMPLATES:
        raise ProjectError(f"no template named {name!r} (templates: {', '.join(TEMPLATES)})")
    return Document(TEMPLATES[name]())


__all__ = ["TEMPLATES", "describe", "new_from_template"]
