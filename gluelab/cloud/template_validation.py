"""ValidateTemplate answers as CloudFormation does, with the checks a stack's template gets.

moto ran cfn-lint for ValidateTemplate: a 3 s import on first use, and cfn-lint's rules rather
than CloudFormation's, so a template CloudFormation takes was refused for a lint warning, in
cfn-lint's words. CloudFormation's ValidateTemplate checks the template's form (JSON or YAML,
Resources present, resource types, intrinsic function arguments, references, dependencies) and
refuses with the ValidationError a CreateStack would get. A template with a transform (SAM) is
validated as written: the transform runs only when a stack is made, so references to what it
generates (FnRole, ServerlessRestApi, ...) are not judged here.
"""
from __future__ import annotations


def validate_template(self, template: str) -> list:
    """The problems moto's response refuses with (none: a problem raises CloudFormation's own)."""
    from gluelab.cloud import cloudformation, intrinsics
    parsed = cloudformation.load_template(template)
    if not isinstance(parsed.get("Resources"), dict) or not parsed["Resources"]:
        raise cloudformation._validation_error("Template format error: At least one Resources member must be defined.")
    try:
        cloudformation.check_recognized(parsed)
        problem = intrinsics.problem(parsed, {})
        if problem:
            raise cloudformation.TemplateError(problem)
        if not cloudformation._transforms(parsed):
            cloudformation.check_references(parsed)
            cloudformation.creation_order(parsed["Resources"])
    except cloudformation.TemplateError as refusal:
        raise cloudformation._validation_error(refusal.reason)
    return []


def install(context) -> None:
    from gluelab.cloud.lazy import when_imported
    when_imported("moto.cloudformation.models",
                  lambda models: setattr(models.CloudFormationBackend, "validate_template", validate_template))
