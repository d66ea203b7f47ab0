"""Input and output shapes of the deals API (the Status/Desc shape is the product's contract)."""

from rest_framework import serializers


class DealsUploadInputSerializer(serializers.Serializer):
    deals = serializers.FileField(
        allow_empty_file=True,  # the parser says "the file is empty" in the contract's shape
        help_text="CSV with the header customer,item,total,quantity,date (any order), UTF-8.",
    )


class DealsStatusOkOutputSerializer(serializers.Serializer):
    Status = serializers.ChoiceField(choices=["OK"])
    Rows = serializers.IntegerField(
        required=False, min_value=1, help_text="Only on a dry run (`?dry_run=1`): the rows the file holds."
    )


class DealsFaultOutputSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        allow_null=True, min_value=1, help_text="The line (the header is line 1); null for a fault of the request."
    )
    column = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        help_text="The faulty field's 1-based column number in the file; null when the line itself is at fault.",
    )
    message = serializers.CharField(help_text="What is wrong, without the line number.")


class DealsStatusErrorOutputSerializer(serializers.Serializer):
    Status = serializers.ChoiceField(choices=["Error"])
    Desc = serializers.CharField(help_text="The first fault, with its line number (the header is line 1).")
    Errors = DealsFaultOutputSerializer(many=True, help_text="Every fault found, in file order: the first 1,000.")
    ErrorCount = serializers.IntegerField(min_value=1, help_text="How many faults were found in all.")


class DealsCustomerOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    spent_money = serializers.FloatField(help_text="Sum of total: an integer when whole, else two decimals.")
    gems = serializers.ListField(
        child=serializers.CharField(),
        help_text="Items this customer and at least one other of the five bought, by code point.",
    )


class DealsReportOutputSerializer(serializers.Serializer):
    response = DealsCustomerOutputSerializer(many=True)
