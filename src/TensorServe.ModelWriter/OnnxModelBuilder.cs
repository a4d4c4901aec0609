using Google.Protobuf;
using TensorServe.ModelWriter.Onnx;

namespace TensorServe.ModelWriter;

/// <summary>
/// One dimension of a declared input or output: a fixed size, a symbolic name (<c>dim_param</c>, dynamic), or unknown
/// (any negative value: a <c>Dimension</c> with neither field set). Converts implicitly from <see cref="long"/> and
/// <see cref="string"/>, so shapes read as <c>[-1, 32, 32, 3]</c> or <c>["batch", 10]</c>.
/// </summary>
public readonly record struct Dim(long Value, string? Param = null)
{
    public static implicit operator Dim(long value) => new(value);

    public static implicit operator Dim(string param) => new(-1, param);
}

/// <summary>
/// Builds an ONNX <see cref="ModelProto"/> from code: declared inputs and outputs, initializers, nodes and opsets. Node
/// names are generated from their position (<c>Conv_3</c>) and every collection keeps insertion order, so the same calls
/// always serialize to the same bytes.
/// </summary>
public sealed class OnnxModelBuilder
{
    /// <summary>IR version 8 (ONNX 1.10+): every ORT since 1.10 reads it.</summary>
    public const long DefaultIrVersion = 8;

    /// <summary>Opset 17: Identity accepts every tensor type incl. string/bool/float16/bfloat16, and Softmax is 13+ style.</summary>
    public const long DefaultOpset = 17;

    private readonly GraphProto _graph;
    private readonly List<OperatorSetIdProto> _opsets = [];
    private long _irVersion = DefaultIrVersion;
    private string _producerName = "TensorServe.ModelWriter";
    private string _producerVersion = "1";
    private string _docString = "";

    public OnnxModelBuilder(string graphName = "graph", long opset = DefaultOpset)
    {
        _graph = new GraphProto { Name = graphName };
        Opset(opset);
    }

    /// <summary>Imports <paramref name="version"/> of <paramref name="domain"/> ("" = ai.onnx); replaces an earlier one.</summary>
    public OnnxModelBuilder Opset(long version, string domain = "")
    {
        _opsets.RemoveAll(o => o.Domain == domain);
        _opsets.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        return this;
    }

    public OnnxModelBuilder IrVersion(long irVersion)
    {
        _irVersion = irVersion;
        return this;
    }

    public OnnxModelBuilder Producer(string name, string version)
    {
        _producerName = name;
        _producerVersion = version;
        return this;
    }

    public OnnxModelBuilder Doc(string docString)
    {
        _docString = docString;
        return this;
    }

    /// <summary>Declares a tensor input. <paramref name="dims"/> null = unknown rank (no shape at all).</summary>
    public OnnxModelBuilder Input(string name, TensorProto.Types.DataType elementType, IReadOnlyList<Dim>? dims)
    {
        _graph.Input.Add(ValueInfo(name, TensorType(elementType, dims)));
        return this;
    }

    /// <summary>Declares a tensor output. <paramref name="dims"/> null = unknown rank (no shape at all).</summary>
    public OnnxModelBuilder Output(string name, TensorProto.Types.DataType elementType, IReadOnlyList<Dim>? dims)
    {
        _graph.Output.Add(ValueInfo(name, TensorType(elementType, dims)));
        return this;
    }

    /// <summary>Declares an output of any type (sequence, map, optional), for models that are not tensor-only.</summary>
    public OnnxModelBuilder Output(string name, TypeProto type)
    {
        _graph.Output.Add(ValueInfo(name, type));
        return this;
    }

    /// <summary>Declares an input of any type.</summary>
    public OnnxModelBuilder Input(string name, TypeProto type)
    {
        _graph.Input.Add(ValueInfo(name, type));
        return this;
    }

    /// <summary>A float initializer (constant) with <paramref name="dims"/> (empty = scalar).</summary>
    public OnnxModelBuilder FloatInitializer(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Initializer(OnnxTensors.Float(name, dims, values));

    /// <summary>An int64 initializer (constant) with <paramref name="dims"/> (empty = scalar).</summary>
    public OnnxModelBuilder Int64Initializer(string name, ReadOnlySpan<long> values, params long[] dims) =>
        Initializer(OnnxTensors.Int64(name, dims, values));

    public OnnxModelBuilder Initializer(TensorProto tensor)
    {
        if (string.IsNullOrEmpty(tensor.Name))
        {
            throw new ArgumentException("An initializer needs a name.", nameof(tensor));
        }
        _graph.Initializer.Add(tensor);
        return this;
    }

    /// <summary>Adds a node of the default domain; see <see cref="OnnxAttributes"/> for attributes.</summary>
    public OnnxModelBuilder Node(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        params AttributeProto[] attributes) => NodeInDomain("", opType, inputs, outputs, attributes);

    /// <summary>Adds a node of operator domain <paramref name="domain"/> (for example <c>ai.onnx.ml</c>).</summary>
    public OnnxModelBuilder NodeInDomain(string domain, string opType, IReadOnlyList<string> inputs,
        IReadOnlyList<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto
        {
            OpType = opType,
            Domain = domain,
            Name = $"{opType}_{_graph.Node.Count}",
        };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return this;
    }

    /// <summary>The model as a message (a fresh copy each call).</summary>
    public ModelProto ToModelProto()
    {
        var model = new ModelProto
        {
            IrVersion = _irVersion,
            ProducerName = _producerName,
            ProducerVersion = _producerVersion,
            DocString = _docString,
            Graph = _graph.Clone(),
        };
        foreach (var opset in _opsets)
        {
            model.OpsetImport.Add(opset.Clone());
        }
        return model;
    }

    /// <summary>The serialized model (<c>model.onnx</c> bytes).</summary>
    public byte[] Build() => ToModelProto().ToByteArray();

    /// <summary>Writes the model to <paramref name="path"/>, creating its directory.</summary>
    public void Save(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        File.WriteAllBytes(path, Build());
    }

    /// <summary>A tensor type; <paramref name="dims"/> null leaves the shape out (unknown rank).</summary>
    public static TypeProto TensorType(TensorProto.Types.DataType elementType, IReadOnlyList<Dim>? dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)elementType };
        if (dims is not null)
        {
            var shape = new TensorShapeProto();
            foreach (var d in dims)
            {
                var dim = new TensorShapeProto.Types.Dimension();
                if (d.Param is { } param)
                {
                    dim.DimParam = param;
                }
                else if (d.Value >= 0)
                {
                    dim.DimValue = d.Value;
                }
                shape.Dim.Add(dim);
            }
            tensor.Shape = shape;
        }
        return new TypeProto { TensorType = tensor };
    }

    /// <summary>A sequence-of-tensors type (for example the output of <c>SequenceConstruct</c>).</summary>
    public static TypeProto SequenceType(TypeProto elementType) =>
        new() { SequenceType = new TypeProto.Types.Sequence { ElemType = elementType } };

    /// <summary>A map type (for example the output of <c>ZipMap</c>).</summary>
    public static TypeProto MapType(TensorProto.Types.DataType keyType, TypeProto valueType) =>
        new() { MapType = new TypeProto.Types.Map { KeyType = (int)keyType, ValueType = valueType } };

    private static ValueInfoProto ValueInfo(string name, TypeProto type) => new() { Name = name, Type = type };
}
