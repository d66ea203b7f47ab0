"""Input and output shapes of the deals API (the Status/Desc shape is the product's contract)."""

from rest_framework import serializers


class DealsUploadInputSerializer(serializers.Serializer):
    deals = serializers.FileField(
        allow_empty_file=True,  # the parser says "the file is empty" in the contract's shape
        help_text="CSV with the header customer,item,total,quantity,date (any order), UTF-8.",
    )


class DealsStatusOkOutputSerializer(serializers.Serializer):
    Status = serializers.ChoiceField(choices=["OK"])


class DealsStatusErrorOutputSerializer(serializers.Serializer):
    Status = serializers.ChoiceField(choices=["Error"])
    Desc = serializers.CharField(help_text="What is wrong, with the line number (the header is line 1).")


class DealsCustomerOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    spent_money = serializers.FloatField(help_text="Sum of total: an integer when whole, else two decimals.")
    gems = serializers.ListField(
        child=serializers.CharField(),
        help_text="Items this customer and at least one other of the five bought, by code point.",
    )


class DealsReportOutputSerializer(serializers.Serializer):
    response = DealsCustomerOutputSerializer(many=True)
