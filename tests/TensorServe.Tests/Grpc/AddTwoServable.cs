using System.Text;
using TensorServe.Models;
using TensorServe.Tensors;

namespace TensorServe.Tests.Grpc;

/// <summary>
/// Test double of a backend (it stands in for ONNX Runtime, which the lead's end-to-end tests cover): a tiny "add two"
/// model so the gRPC transport can be exercised over a real connection without model files.
/// <list type="bullet">
/// <item><c>serving_default</c>: x float[-1] → y = x + 2 (float, same shape), count = element count (int64 scalar),
/// served_by = this version (int64 scalar).</item>
/// <item><c>concat</c>: a string (unknown rank), b string[-1] → ab = a[i] + b[i] (string, shape of b).</item>
/// </list>
/// </summary>
internal sealed class AddTwoServable : IServable
{
    public const string ConcatSignature = "concat";

    private readonly long _version;
    private readonly SignatureDef _default;
    private readonly SignatureDef _concat;

    public AddTwoServable(long version)
    {
        _version = version;
        _default = new SignatureDef(SignatureConstants.PredictMethodName,
            [new("x", new TensorInfo("x:0", DataType.Float, [-1]))],
            [
                new("y", new TensorInfo("y:0", DataType.Float, [-1])),
                new("count", new TensorInfo("count:0", DataType.Int64, [])),
                new("served_by", new TensorInfo("served_by:0", DataType.Int64, [])),
            ]);
        _concat = new SignatureDef(SignatureConstants.PredictMethodName,
            [
                new("a", new TensorInfo("a:0", DataType.String, null)),
                new("b", new TensorInfo("b:0", DataType.String, [-1])),
            ],
            [new("ab", new TensorInfo("ab:0", DataType.String, [-1]))]);
        Signatures = new Dictionary<string, SignatureDef>
        {
            [SignatureConstants.DefaultServingKey] = _default,
            [ConcatSignature] = _concat,
        };
    }

    public string Platform => "test-add-two";

    public IReadOnlyDictionary<string, SignatureDef> Signatures { get; }

    public Tensor[] Run(SignatureDef signature, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<int> outputIndices,
        CancellationToken cancellationToken)
    {
        var outputs = new Tensor[outputIndices.Length];
        if (ReferenceEquals(signature, _concat))
        {
            var (a, b) = (inputs[0], inputs[1]);
            if (a.ElementCount != b.ElementCount)
            {
                throw ServingException.InvalidArgument("a and b must have the same number of elements");
            }
            var values = new byte[b.ElementCount][];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = [.. a.GetString(i), .. b.GetString(i)];
            }
            outputs[0] = Tensor.FromStrings((long[])b.Shape.Clone(), values);
            return outputs;
        }

        var x = inputs[0];
        for (var k = 0; k < outputIndices.Length; k++)
        {
            outputs[k] = outputIndices[k] switch
            {
                0 => AddTwo(x),
                1 => Tensor.FromValues<long>(DataType.Int64, [], [x.ElementCount]),
                _ => Tensor.FromValues<long>(DataType.Int64, [], [_version]),
            };
        }
        return outputs;
    }

    private static Tensor AddTwo(Tensor x)
    {
        var y = Tensor.Allocate(DataType.Float, (long[])x.Shape.Clone());
        var source = x.AsSpan<float>();
        var target = y.AsSpan<float>();
        for (var i = 0; i < source.Length; i++)
        {
            target[i] = source[i] + 2f;
        }
        return y;
    }

    public void Dispose()
    {
    }
}

/// <summary>Loads <see cref="AddTwoServable"/> from a version directory holding <c>add_two.model</c>.</summary>
internal sealed class AddTwoLoader : IServableLoader
{
    public const string FileName = "add_two.model";

    /// <summary>File content that makes the load fail, to produce an END status with an error.</summary>
    public const string CorruptContent = "corrupt";

    public string Platform => "test-add-two";

    public bool CanLoad(string versionPath) => File.Exists(Path.Combine(versionPath, FileName));

    public IServable Load(string versionPath, CancellationToken cancellationToken)
    {
        var file = Path.Combine(versionPath, FileName);
        if (File.ReadAllText(file, Encoding.UTF8) == CorruptContent)
        {
            throw new ServingException(ErrorCode.DataLoss, $"Corrupt test model at {file}");
        }
        return new AddTwoServable(long.Parse(Path.GetFileName(versionPath), System.Globalization.CultureInfo.InvariantCulture));
    }
}
