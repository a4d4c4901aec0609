using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Tensorflow.Serving;
using ProtoDataType = Tensorflow.DataType;
using TensorProto = Tensorflow.TensorProto;
using TensorShapeProto = Tensorflow.TensorShapeProto;

namespace TensorServe.FunctionalTests.Serving;

/// <summary>gRPC PredictionService and ModelService (spec §3) against the real server and real ONNX models.</summary>
[Collection(ServingCollection.Name)]
public class GrpcPredictTests(ServingFixture server)
{
    private static CallOptions Deadline() => new(deadline: DateTime.UtcNow.AddSeconds(60));

    private static TensorShapeProto Shape(params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dim { Size = d });
        }
        return shape;
    }

    /// <summary>What <c>tf.make_tensor_proto</c> sends for a float32 numpy array: raw little-endian bytes.</summary>
    private static TensorProto FloatContent(float[] values, params long[] dims) => new()
    {
        Dtype = ProtoDataType.DtFloat,
        TensorShape = Shape(dims),
        TensorContent = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())),
    };

    private static PredictRequest Predict(string model, string alias, TensorProto tensor, long? version = null,
        string? label = null)
    {
        var request = new PredictRequest { ModelSpec = new ModelSpec { Name = model } };
        if (version is { } v)
        {
            request.ModelSpec.Version = v;
        }
        if (label is not null)
        {
            request.ModelSpec.VersionLabel = label;
        }
        request.Inputs.Add(alias, tensor);
        return request;
    }

    private static float[] Floats(TensorProto proto) => proto.TensorContent.IsEmpty
        ? proto.FloatVal.ToArray()
        : MemoryMarshal.Cast<byte, float>(proto.TensorContent.Span).ToArray();

    [Fact]
    public async Task Predict_TypedScalar_ReturnsTypedScalar()
    {
        // predict_impl_test.cc: float_val 2.0 with no shape is a scalar; y comes back as a scalar 3.0.
        var tensor = new TensorProto { Dtype = ProtoDataType.DtFloat };
        tensor.FloatVal.Add(2.0f);

        var response = await server.Prediction.PredictAsync(Predict("half_plus_two", "x", tensor), Deadline());

        var y = response.Outputs["y"];
        Assert.Equal(ProtoDataType.DtFloat, y.Dtype);
        Assert.Empty(y.TensorShape.Dim);
        Assert.Equal([3.0f], y.FloatVal);
        Assert.Equal("half_plus_two", response.ModelSpec.Name);
        Assert.Equal(1, response.ModelSpec.Version);
        Assert.Equal("serving_default", response.ModelSpec.SignatureName);
    }

    [Fact]
    public async Task Predict_TensorContent_ReturnsTypedValuesByDefault()
    {
        var response = await server.Prediction.PredictAsync(
            Predict("half_plus_two", "x", FloatContent([1f, 2f, 5f], 3)), Deadline());

        var y = response.Outputs["y"];
        Assert.Equal([3L], y.TensorShape.Dim.Select(d => d.Size));
        Assert.True(y.TensorContent.IsEmpty);
        Assert.Equal([2.5f, 3f, 4.5f], y.FloatVal);
    }

    [Theory]
    [InlineData(123L, null)]
    [InlineData(null, "Version_Label")]
    [InlineData(null, null)]
    public async Task Predict_VersionOrLabel_IsServedByVersion123(long? version, string? label)
    {
        var response = await server.Prediction.PredictAsync(
            Predict("half_plus_two_2_versions", "x", FloatContent([1f, 2f], 2, 1), version, label), Deadline());

        Assert.Equal(123, response.ModelSpec.Version);
        Assert.Equal([2.5f, 3f], Floats(response.Outputs["y"]));
        Assert.Equal([2L, 1L], response.Outputs["y"].TensorShape.Dim.Select(d => d.Size));
    }

    [Theory]
    [InlineData("no_such_model", null, null, StatusCode.NotFound, "Servable not found for request: Latest(no_such_model)")]
    [InlineData("half_plus_two_2_versions", 124L, null, StatusCode.NotFound,
        "Servable not found for request: Specific(half_plus_two_2_versions, 124)")]
    [InlineData("half_plus_two_2_versions", null, "nope", StatusCode.InvalidArgument,
        "Unrecognized servable version label: nope")]
    [InlineData("", null, null, StatusCode.InvalidArgument, "ModelSpec has no name specified.")]
    public async Task Predict_UnresolvableModelSpec_HasTfServingsStatus(string model, long? version, string? label,
        StatusCode code, string message)
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await server.Prediction.PredictAsync(
            Predict(model, "x", FloatContent([1f], 1), version, label), Deadline()));

        Assert.Equal(code, e.StatusCode);
        Assert.Equal(message, e.Status.Detail);
    }

    [Fact]
    public async Task Predict_OutputFilterWithUnknownAlias_IsInvalidArgument()
    {
        var request = Predict("half_plus_two", "x", FloatContent([1f], 1));
        request.OutputFilter.Add("nope");

        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Prediction.PredictAsync(request, Deadline()));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("output tensor alias not found in signature: nope Outputs expected to be in the set {y}.",
            e.Status.Detail);
    }

    [Fact]
    public async Task Predict_MessageLargerThanGrpcsDefault4MB_IsServed()
    {
        // TF Serving raises the gRPC message limit to INT_MAX; 2M floats is 8 MB each way.
        var values = Enumerable.Range(0, 2_000_000).Select(i => (float)(i % 1000)).ToArray();

        var response = await server.Prediction.PredictAsync(
            Predict("half_plus_two", "x", FloatContent(values, values.Length)), Deadline());

        var y = Floats(response.Outputs["y"]);
        Assert.Equal(values.Length, y.Length);
        Assert.Equal(0.5f * 999 + 2, y[999]);
        Assert.Equal(0.5f * 123 + 2, y[1_999_123]);
    }

    [Fact]
    public async Task Predict_Cifar10_MatchesTheRestAnswerForTheSameImages()
    {
        var images = Enumerable.Range(10, 3).Select(n => Cifar10.Image(seed: n)).ToArray();
        var flat = images.SelectMany(i => i.SelectMany(r => r.SelectMany(p => p))).ToArray();

        var grpc = await server.Prediction.PredictAsync(
            Predict("cifar10", "images", FloatContent(flat, 3, 32, 32, 3)), Deadline());
        var rest = await server.PostAsync("/v1/models/cifar10:predict",
            "{\"instances\": " + JsonSerializer.Serialize(images) + "}");

        var probabilities = grpc.Outputs["probabilities"];
        Assert.Equal([3L, 10L], probabilities.TensorShape.Dim.Select(d => d.Size));
        using var doc = JsonDocument.Parse(rest.Body);
        var restValues = doc.RootElement.GetProperty("predictions").EnumerateArray()
            .SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle())).ToArray();
        // REST prints floats with %.9g when %g does not round-trip, so the values are exactly equal.
        Assert.Equal(Floats(probabilities), restValues);
    }

    [Fact]
    public async Task GetModelMetadata_ReturnsTheSignatureDefMap()
    {
        var request = new GetModelMetadataRequest { ModelSpec = new ModelSpec { Name = "cifar10" } };
        request.MetadataField.Add("signature_def");

        var response = await server.Prediction.GetModelMetadataAsync(request, Deadline());

        Assert.Equal("cifar10", response.ModelSpec.Name);
        Assert.Equal(1, response.ModelSpec.Version);
        var map = response.Metadata["signature_def"].Unpack<SignatureDefMap>();
        var signature = map.SignatureDef["serving_default"];
        Assert.Equal("tensorflow/serving/predict", signature.MethodName);
        var images = signature.Inputs["images"];
        Assert.Equal(ProtoDataType.DtFloat, images.Dtype);
        Assert.Equal("images", images.Name);
        Assert.Equal([-1L, 32L, 32L, 3L], images.TensorShape.Dim.Select(d => d.Size));
        Assert.Equal([-1L, 10L], signature.Outputs["probabilities"].TensorShape.Dim.Select(d => d.Size));
    }

    [Fact]
    public async Task GetModelStatus_ListsTheFailedVersionWithItsError()
    {
        var response = await server.ModelStatus.GetModelStatusAsync(
            new GetModelStatusRequest { ModelSpec = new ModelSpec { Name = "mixed_health" } }, Deadline());

        Assert.Equal([2L, 1L], response.ModelVersionStatus.Select(s => s.Version));
        Assert.Equal(ModelVersionStatus.Types.State.Available, response.ModelVersionStatus[0].State);
        Assert.Equal(Tensorflow.Error.Code.Ok, response.ModelVersionStatus[0].Status.ErrorCode);
        var failed = response.ModelVersionStatus[1];
        Assert.Equal(ModelVersionStatus.Types.State.End, failed.State);
        Assert.Equal(Tensorflow.Error.Code.Unimplemented, failed.Status.ErrorCode);
        Assert.Contains("Output 'zipped' is of type ONNX_TYPE_SEQUENCE", failed.Status.ErrorMessage);
    }

    [Fact]
    public async Task GetModelStatus_UnknownModel_IsNotFound()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await server.ModelStatus.GetModelStatusAsync(
            new GetModelStatusRequest { ModelSpec = new ModelSpec { Name = "nope" } }, Deadline()));

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("Could not find any versions of model nope", e.Status.Detail);
    }
}
