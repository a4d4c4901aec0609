using TensorServe.Tensors;

namespace TensorServe.Models;

/// <summary>A signature's tensor: graph tensor name, dtype, dims (-1 unknown; null dims means unknown rank).</summary>
public sealed record TensorInfo(string Name, DataType DType, long[]? Dims);

/// <summary>TF's signature constants (signature_constants.py).</summary>
public static class SignatureConstants
{
    public const string DefaultServingKey = "serving_default";
    public const string PredictMethodName = "tensorflow/serving/predict";
    public const string ClassifyMethodName = "tensorflow/serving/classify";
    public const string RegressMethodName = "tensorflow/serving/regress";
}

/// <summary>
/// A model signature (TF's <c>SignatureDef</c>): ordered input and output aliases with their tensor infos. The order is
/// the one the backend declared; backends receive inputs in this order and outputs are indexed by it.
/// </summary>
public sealed class SignatureDef
{
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;

    public SignatureDef(string methodName, IEnumerable<KeyValuePair<string, TensorInfo>> inputs,
        IEnumerable<KeyValuePair<string, TensorInfo>> outputs)
    {
        MethodName = methodName;
        Inputs = inputs.ToArray();
        Outputs = outputs.ToArray();
        _inputIndex = Index(Inputs);
        _outputIndex = Index(Outputs);
    }

    public string MethodName { get; }

    public IReadOnlyList<KeyValuePair<string, TensorInfo>> Inputs { get; }

    public IReadOnlyList<KeyValuePair<string, TensorInfo>> Outputs { get; }

    /// <summary>Index of input <paramref name="alias"/> in <see cref="Inputs"/>, or -1.</summary>
    public int IndexOfInput(string alias) => _inputIndex.GetValueOrDefault(alias, -1);

    /// <summary>Index of output <paramref name="alias"/> in <see cref="Outputs"/>, or -1.</summary>
    public int IndexOfOutput(string alias) => _outputIndex.GetValueOrDefault(alias, -1);

    private static Dictionary<string, int> Index(IReadOnlyList<KeyValuePair<string, TensorInfo>> items)
    {
        var index = new Dictionary<string, int>(items.Count, StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            index.Add(items[i].Key, i);
        }
        return index;
    }
}
