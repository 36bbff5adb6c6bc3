"""CBV 2.0 and GS1 Web Vocabulary terms: short names, their Web URIs, and the namespace prefixes EPCIS JSON-LD knows.

In EPCIS 2.0 JSON-LD, standard vocabulary values are written as bare words
("shipping", "in_transit", "po", "Temperature"); the EPCIS JSON-LD context
maps them to Web URIs (https://ref.gs1.org/cbv/BizStep-shipping,
https://gs1.org/voc/Temperature). XML and older documents write the same value
as a URN (urn:epcglobal:cbv:bizstep:shipping) or as a CURIE (cbv:BizStep-shipping).
`expand` turns every such form into the Web URI; `short_name` goes back.
"""
from __future__ import annotations

from dataclasses import dataclass

CBV = "https://ref.gs1.org/cbv/"
GS1_VOC = "https://gs1.org/voc/"

#: Prefixes the EPCIS 2.0 JSON-LD context defines (a document's own @context may add more).
STANDARD_PREFIXES: dict[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": CBV,
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": GS1_VOC,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}

#: EPCIS/CBV context URLs (the document's @context must name one of them, or an equivalent).
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"


@dataclass(frozen=True)
class Vocabulary:
    """One CBV/GS1 vocabulary: its Web URI stem, legacy URN stem and standard short names."""

    name: str
    web_prefix: str
    urn_prefix: str | None
    terms: frozenset[str]

    def expand(self, value: str) -> str:
        """The Web URI of a bare word, CURIE or URN of this vocabulary; other values unchanged."""
        if value in self.terms:
            return self.web_prefix + value
        if self.urn_prefix is not None and value.startswith(self.urn_prefix):
            return self.web_prefix + value[len(self.urn_prefix):]
        for prefix, iri in (("cbv:", CBV), ("gs1:", GS1_VOC)):
            if value.startswith(prefix) and self.web_prefix.startswith(iri):
                return iri + value[len(prefix):]
        return value

    def short_name(self, value: str) -> str:
        """The bare word of a standard term (any form); other values as given."""
        expanded = self.expand(value)
        if expanded.startswith(self.web_prefix) and expanded[len(self.web_prefix):] in self.terms:
            return expanded[len(self.web_prefix):]
        return value

    def is_standard(self, value: str) -> bool:
        """True if the value (any form) is one of this vocabulary's standard terms."""
        return self.short_name(value) in self.terms


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


BIZ_STEP = Vocabulary("bizStep", CBV + "BizStep-", "urn:epcglobal:cbv:bizstep:", _words("""
    accepting arriving assembling collecting commissioning consigning creating_class_instance cycle_counting
    decommissioning departing destroying disassembling dispensing encoding entering_exiting holding inspecting
    installing killing loading other packing picking receiving removing repackaging repairing replacing reserving
    retail_selling sampling sensor_reporting shipping staging_outbound stock_taking stocking storing transporting
    unloading unpacking void_shipping"""))

DISPOSITION = Vocabulary("disposition", CBV + "Disp-", "urn:epcglobal:cbv:disp:", _words("""
    active available completeness_verified completeness_inferred conformant container_closed container_open damaged
    destroyed dispensed disposed encoded expired in_progress in_transit inactive mismatch_instance mismatch_class
    mismatch_quantity needs_replacement no_pedigree_match non_conformant non_sellable_other partially_dispensed
    recalled reserved retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown"""))

BIZ_TRANSACTION_TYPE = Vocabulary("bizTransaction type", CBV + "BTT-", "urn:epcglobal:cbv:btt:", _words(
    "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt"))

SOURCE_DEST_TYPE = Vocabulary("source/destination type", CBV + "SDT-", "urn:epcglobal:cbv:sdt:", _words(
    "owning_party possessing_party location"))

ERROR_REASON = Vocabulary("error reason", CBV + "ER-", "urn:epcglobal:cbv:er:", _words("did_not_occur incorrect_data"))

COMPONENT = Vocabulary("component", CBV + "Comp-", None, _words("""
    x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle easting northing latitude
    longitude altitude"""))

MEASUREMENT_TYPE = Vocabulary("measurement type", GS1_VOC, None, _words("""
    AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude AmountOfSubstance
    AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum AngularVelocity Area Capacitance
    Conductance Conductivity Count Density Dimensionless DoseEquivalent DoseEquivalentRate DynamicViscosity
    ElectricCharge ElectricCurrent ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency
    Illuminance Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux
    LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate
    MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume Power Pressure RadiantFlux
    RadiantIntensity RelativeHumidity Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity
    SurfaceTension Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux
    Wavenumber"""))

SENSOR_ALERT_TYPE = Vocabulary("sensor alert type", GS1_VOC, None, _words("ALARM_CONDITION ERROR_CONDITION"))

#: Legacy CBV 1.x URN stems and their CBV 2.0 Web URI stems (CBV 2.0 event hash rule: URNs become Web URIs).
CBV_URN_TO_WEB: tuple[tuple[str, str], ...] = tuple(
    (v.urn_prefix, v.web_prefix) for v in (BIZ_STEP, DISPOSITION, BIZ_TRANSACTION_TYPE, SOURCE_DEST_TYPE, ERROR_REASON)
    if v.urn_prefix is not None)


def web_uri_of_cbv_urn(value: str) -> str:
    """The CBV 2.0 Web URI of a legacy urn:epcglobal:cbv: vocabulary value; other values unchanged."""
    for urn, web in CBV_URN_TO_WEB:
        if value.startswith(urn):
            return web + value[len(urn):]
    return value
