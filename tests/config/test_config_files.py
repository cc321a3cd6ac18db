"""Configuration files: valid ones load, invalid ones name file, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpp.config import ConfigError, load_yaml
from vpp.config.gateway import GatewayConfig, Iec61850Device, SunSpecDevice
from vpp.config.registry import RegistryConfig

GOOD = """
gateway_id: gw-1
nats: {url: "nats://127.0.0.1:4222"}
security: {command_keys_file: /etc/vpp/command-keys.pub}
devices:
  - {der_id: bat-1, kind: battery, protocol: sunspec, port: 15020, unit_id: 1,
     ratings: {p_min_w: -5000, p_max_w: 5000, energy_wh: 10000}}
  - {der_id: pv-1, kind: pv, protocol: iec61850, port: 10102, ied: SIMPV1, ld: DER}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    return path


def test_valid_gateway_file(tmp_path: Path) -> None:
    cfg = load_yaml(write(tmp_path, GOOD), GatewayConfig)
    bat, pv = cfg.devices
    assert isinstance(bat, SunSpecDevice) and bat.ratings != "device"
    assert isinstance(pv, Iec61850Device) and pv.ratings == "device"
    assert cfg.safety.command_timeout_s == 60.0
    assert cfg.security.command_keys_file == Path("/etc/vpp/command-keys.pub")


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        (GOOD.replace("gw-1", "gw.1"), "gateway_id", "pattern"),
        (GOOD.replace("unit_id: 1", "unit_id: 900"), "devices[0]", "less than or equal"),
        (GOOD.replace("protocol: sunspec", "protocol: dnp3"), "devices[0]", "protocol"),
        (GOOD.replace("p_min_w: -5000", "p_min_w: 6000"), "devices[0]", "p_min_w"),
        (GOOD.replace("kind: pv", "kind: pv, pol_s: 3"), "devices[1]", "pol_s"),
        (GOOD.replace("pv-1", "bat-1"), "(top level)", "appears twice"),
        (GOOD + "\n  - [unclosed", "", "not valid YAML"),
        # secure by default: commands are verified unless the file says otherwise
        (
            GOOD.replace("security: {command_keys_file: /etc/vpp/command-keys.pub}", ""),
            "(top level)",
            "security.command_keys_file is required",
        ),
        (
            GOOD.replace("}\ndevices", ", allow_unsigned_commands: true}\ndevices"),
            "(top level)",
            "contradict",
        ),
        (GOOD.replace("security: {", "security: {keys: x, "), "security", "keys"),
    ],
)
def test_invalid_gateway_file_names_field_and_reason(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_yaml(path, GatewayConfig)
    message = str(err.value)
    assert str(path) in message and field in message and reason in message


def test_unsigned_commands_only_when_said_out_loud(tmp_path: Path) -> None:
    text = GOOD.replace(
        "command_keys_file: /etc/vpp/command-keys.pub", "allow_unsigned_commands: true"
    )
    cfg = load_yaml(write(tmp_path, text), GatewayConfig)
    assert cfg.security.allow_unsigned_commands and cfg.security.command_keys_file is None


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml(tmp_path / "nope.yaml", GatewayConfig)


def test_registry_references(tmp_path: Path) -> None:
    path = tmp_path / "registry.yaml"
    path.write_text("tenants: [{tenant_id: t1}]\nplants: [{plant_id: p1, tenant_id: t2}]\n")
    with pytest.raises(ConfigError, match="unknown tenant"):
        load_yaml(path, RegistryConfig)
    path.write_text(
        "tenants: [{tenant_id: t1}]\nplants: [{plant_id: p1, tenant_id: t1, members: [a]}]\n"
    )
    assert load_yaml(path, RegistryConfig).plants[0].members == ["a"]


def test_ratings_config_has_the_domain_ratings_fields_and_defaults() -> None:
    """One source for the ratings: the config model mirrors DerRatings field by field."""
    import dataclasses

    from vpp.config.common import RatingsConfig
    from vpp.domain.der import RATINGS_FIELDS, DerRatings

    assert tuple(RatingsConfig.model_fields) == RATINGS_FIELDS
    for f in dataclasses.fields(DerRatings):
        model_field = RatingsConfig.model_fields[f.name]
        if f.default is dataclasses.MISSING:
            assert model_field.is_required(), f.name
        else:
            assert model_field.default == f.default, f.name


def test_config_ids_follow_the_domain_id_grammar() -> None:
    from pydantic import TypeAdapter, ValidationError

    from vpp.config.common import Id
    from vpp.domain.ids import ID_MAX_LENGTH, is_valid_id

    ids = TypeAdapter(Id)
    for value in ("a", "gw-1", "x_Y-9", "a" * ID_MAX_LENGTH, "", "gw.1", "a b", "a" * 65):
        if is_valid_id(value):
            assert ids.validate_python(value) == value
        else:
            with pytest.raises(ValidationError):
                ids.validate_python(value)
