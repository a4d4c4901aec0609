using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using System.Runtime.CompilerServices;
using TensorServe.Models;
using TensorServe.Tensors;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;
using Tensor = TensorServe.Tensors.Tensor;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace TensorServe.Backends.Onnx;

/// <summary>
/// One ONNX model version on one ONNX Runtime <see cref="InferenceSession"/> (thread-safe: requests run concurrently).
/// The model has one signature, <c>serving_default</c> (predict), whose aliases are the ONNX input/output names in model
/// order. Inputs are passed to ORT over their own pinned memory and numeric outputs are handed out as tensors over ORT's
/// output buffers, so a request's data is not copied on either side.
/// </summary>
internal sealed unsafe class OnnxServable : IServable
{
    /// <summary>Used when the request cannot be cancelled: ORT only reads it, so one instance serves every run.</summary>
    private static readonly RunOptions SharedRunOptions = new();

    /// <summary>ORT rejects a null data pointer even for an empty tensor; empty inputs point here instead.</summary>
    private static readonly byte[] EmptyData = GC.AllocateArray<byte>(16, pinned: true);

    private readonly InferenceSession _session;
    private readonly string _modelPath;
    private readonly string[] _inputNames;
    private readonly TensorElementType[] _inputElementTypes;
    private readonly long[]?[] _inputDims;
    private readonly string[] _outputNames;
    private readonly DataType[] _outputDTypes;
    private readonly SignatureDef _signature;
    private int _disposed;

    private OnnxServable(InferenceSession session, string modelPath, string[] inputNames,
        TensorElementType[] inputElementTypes, long[]?[] inputDims, string[] outputNames, DataType[] outputDTypes,
        SignatureDef signature)
    {
        _session = session;
        _modelPath = modelPath;
        _inputNames = inputNames;
        _inputElementTypes = inputElementTypes;
        _inputDims = inputDims;
        _outputNames = outputNames;
        _outputDTypes = outputDTypes;
        _signature = signature;
        Signatures = new Dictionary<string, SignatureDef>(StringComparer.Ordinal)
        {
            [SignatureConstants.DefaultServingKey] = signature,
        };
    }

    public string Platform => OnnxServableLoader.PlatformName;

    public IReadOnlyDictionary<string, SignatureDef> Signatures { get; }

    public string ModelPath => _modelPath;

    /// <summary>
    /// Creates the session and the signature. Every failure is a <see cref="ServingException"/> naming the model file
    /// (corrupt file, unsupported opset or operator, non-tensor or unsupported-type input/output).
    /// </summary>
    public static OnnxServable Load(string modelPath, OnnxBackendOptions options)
    {
        InferenceSession session;
        using (var sessionOptions = CreateSessionOptions(options))
        {
            try
            {
                session = new InferenceSession(modelPath, sessionOptions);
            }
            catch (Exception e) when (e is not (ServingException or OutOfMemoryException))
            {
                // ORT's managed metadata fails on element types it has no enum value for (float8, int4); name the value.
                throw FindUnsupportedValue(modelPath) ?? OnnxErrors.FromLoad(e, modelPath);
            }
        }

        try
        {
            var unknownRank = OnnxGraphInspector.UnknownRankNames(OnnxGraphInspector.ReadGraphValues(modelPath));

            var inputNames = session.InputNames.ToArray();
            var inputTypes = new TensorElementType[inputNames.Length];
            var inputDims = new long[]?[inputNames.Length];
            var inputs = new KeyValuePair<string, TensorInfo>[inputNames.Length];
            for (var i = 0; i < inputNames.Length; i++)
            {
                var info = Describe(modelPath, "Input", inputNames[i], session.InputMetadata[inputNames[i]], unknownRank,
                    out inputTypes[i]);
                inputDims[i] = info.Dims;
                inputs[i] = new(inputNames[i], info);
            }

            var outputNames = session.OutputNames.ToArray();
            var outputDTypes = new DataType[outputNames.Length];
            var outputs = new KeyValuePair<string, TensorInfo>[outputNames.Length];
            for (var i = 0; i < outputNames.Length; i++)
            {
                var info = Describe(modelPath, "Output", outputNames[i], session.OutputMetadata[outputNames[i]],
                    unknownRank, out _);
                outputDTypes[i] = info.DType;
                outputs[i] = new(outputNames[i], info);
            }

            var signature = new SignatureDef(SignatureConstants.PredictMethodName, inputs, outputs);
            return new OnnxServable(session, modelPath, inputNames, inputTypes, inputDims, outputNames, outputDTypes,
                signature);
        }
        catch (Exception e)
        {
            session.Dispose();
            if (e is ServingException or OutOfMemoryException)
            {
                throw;
            }
            throw OnnxErrors.FromLoad(e, modelPath);
        }
    }

    private static SessionOptions CreateSessionOptions(OnnxBackendOptions options)
    {
        var sessionOptions = new SessionOptions
        {
            // ORT's warnings (initializers listed as inputs, legacy opsets) are advice for model authors, not operators.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (options.IntraOpThreads > 0)
        {
            sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        }
        if (options.InterOpThreads > 0)
        {
            sessionOptions.InterOpNumThreads = options.InterOpThreads;
            if (options.InterOpThreads > 1)
            {
                sessionOptions.ExecutionMode = ExecutionMode.ORT_PARALLEL;
            }
        }
        return sessionOptions;
    }

    /// <summary>The signature entry for one model input or output; rejects what TF Serving clients cannot receive.</summary>
    private static TensorInfo Describe(string modelPath, string kind, string name, NodeMetadata metadata,
        HashSet<string> unknownRank, out TensorElementType elementType)
    {
        if (metadata.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR)
        {
            throw ServingException.Unimplemented(
                $"Failed to load ONNX model {modelPath}: {kind} '{name}' is of type {metadata.OnnxValueType}; only tensor " +
                "inputs and outputs can be served (sequence and map values such as ZipMap outputs have no TensorProto form)");
        }
        elementType = metadata.ElementDataType;
        var dtype = OnnxTypes.ToDataType(elementType);
        if (dtype == DataType.Invalid)
        {
            throw UnsupportedElementType(modelPath, kind, name, (int)elementType);
        }
        long[]? dims = null;
        if (!unknownRank.Contains(name))
        {
            var ortDims = metadata.Dimensions;
            dims = new long[ortDims.Length];
            for (var d = 0; d < ortDims.Length; d++)
            {
                // Symbolic dims (dim_param) and unset dims both come back as -1: TF's unknown dim.
                dims[d] = ortDims[d] < 0 ? -1 : ortDims[d];
            }
        }
        return new TensorInfo(name, dtype, dims);
    }

    private static ServingException UnsupportedElementType(string modelPath, string kind, string name, int onnxType) =>
        ServingException.Unimplemented(
            $"Failed to load ONNX model {modelPath}: {kind} '{name}' has element type {OnnxTypes.OnnxName(onnxType)}, " +
            "which has no TensorFlow dtype");

    private static ServingException? FindUnsupportedValue(string modelPath)
    {
        foreach (var value in OnnxGraphInspector.ReadGraphValues(modelPath))
        {
            if (value.IsTensor && !OnnxTypes.IsSupported(value.ElementType))
            {
                return UnsupportedElementType(modelPath, value.IsInput ? "Input" : "Output", value.Name, value.ElementType);
            }
        }
        return null;
    }

    public Tensor[] Run(SignatureDef signature, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<int> outputIndices,
        CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!ReferenceEquals(signature, _signature))
        {
            throw ServingException.Internal("Signature does not belong to this ONNX model.");
        }
        if (inputs.Length != _inputNames.Length)
        {
            throw ServingException.InvalidArgument(
                $"Expected {_inputNames.Length} inputs for ONNX model but got {inputs.Length}");
        }
        for (var i = 0; i < inputs.Length; i++)
        {
            CheckInput(i, inputs[i]);
        }
        if (cancellationToken.IsCancellationRequested)
        {
            throw new ServingException(ErrorCode.Cancelled, "Run call was cancelled");
        }
        if (outputIndices.IsEmpty)
        {
            // Nothing to fetch: ORT refuses a run without outputs, and TF runs nothing for an empty fetch list.
            return [];
        }

        var outputNames = OutputNamesFor(outputIndices);
        var inputValues = new OrtValue[inputs.Length];
        var pins = new MemoryHandle[inputs.Length];
        try
        {
            for (var i = 0; i < inputs.Length; i++)
            {
                inputValues[i] = CreateInputValue(inputs[i], _inputElementTypes[i], ref pins[i]);
            }
            var results = RunSession(inputValues, outputNames, cancellationToken);
            return TakeOutputs(results, inputs, outputIndices);
        }
        finally
        {
            // Inputs are released only after ORT returned: it reads the pinned memory for the whole run.
            for (var i = 0; i < inputValues.Length; i++)
            {
                inputValues[i]?.Dispose();
                pins[i].Dispose();
            }
        }
    }

    private void CheckInput(int index, Tensor tensor)
    {
        var info = _signature.Inputs[index].Value;
        if (tensor.DType != info.DType)
        {
            throw ServingException.InvalidArgument(
                $"Expects arg[{index}] to be {DataTypes.Name(info.DType)} but {DataTypes.Name(tensor.DType)} is provided");
        }
        if (_inputDims[index] is not { } dims)
        {
            return;
        }
        var shape = tensor.Shape;
        if (shape.Length != dims.Length)
        {
            throw ServingException.InvalidArgument(
                $"Invalid rank for input: {_inputNames[index]} Got: {shape.Length} Expected: {dims.Length} " +
                $"(model shape {TensorShape.ToDebugString(dims)}, request shape {TensorShape.ToDebugString(shape)})");
        }
        for (var d = 0; d < dims.Length; d++)
        {
            if (dims[d] >= 0 && dims[d] != shape[d])
            {
                throw ServingException.InvalidArgument(
                    $"Got invalid dimensions for input: {_inputNames[index]} for the following indices index: {d} " +
                    $"Got: {shape[d].ToString(CultureInfo.InvariantCulture)} " +
                    $"Expected: {dims[d].ToString(CultureInfo.InvariantCulture)} " +
                    $"(model shape {TensorShape.ToDebugString(dims)}, request shape {TensorShape.ToDebugString(shape)})");
            }
        }
    }

    /// <summary>The output names for this request; the precomputed array when every output is asked for in order.</summary>
    private string[] OutputNamesFor(ReadOnlySpan<int> outputIndices)
    {
        var inOrder = outputIndices.Length == _outputNames.Length;
        for (var i = 0; inOrder && i < outputIndices.Length; i++)
        {
            inOrder = outputIndices[i] == i;
        }
        if (inOrder)
        {
            return _outputNames;
        }
        var names = new string[outputIndices.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var index = outputIndices[i];
            if ((uint)index >= (uint)_outputNames.Length)
            {
                throw ServingException.Internal($"Output index {index} is out of range for this ONNX model.");
            }
            names[i] = _outputNames[index];
        }
        return names;
    }

    private static OrtValue CreateInputValue(Tensor tensor, TensorElementType elementType, ref MemoryHandle pin)
    {
        try
        {
            if (tensor.IsString)
            {
                var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.Shape);
                try
                {
                    for (var i = 0; i < tensor.ElementCount; i++)
                    {
                        value.StringTensorSetElementAt(tensor.GetString(i), i);
                    }
                    return value;
                }
                catch
                {
                    value.Dispose();
                    throw;
                }
            }

            var byteLength = tensor.Bytes.Length;
            pin = tensor.Pin();
            var data = byteLength == 0 || pin.Pointer == null
                ? (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(EmptyData))
                : (nint)pin.Pointer;
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, elementType, tensor.Shape, data,
                byteLength);
        }
        catch (OnnxRuntimeException e)
        {
            throw OnnxErrors.FromRun(e, CancellationToken.None);
        }
    }

    private IReadOnlyList<OrtValue> RunSession(OrtValue[] inputValues, string[] outputNames,
        CancellationToken cancellationToken)
    {
        try
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return AsList(_session.Run(SharedRunOptions, _inputNames, inputValues, outputNames));
            }
            using var runOptions = new RunOptions();
            // Disposed before runOptions: Dispose waits for a callback in flight, so it never touches a freed handle.
            using var registration = cancellationToken.UnsafeRegister(
                static state => ((RunOptions)state!).Terminate = true, runOptions);
            return AsList(_session.Run(runOptions, _inputNames, inputValues, outputNames));
        }
        catch (OnnxRuntimeException e)
        {
            throw OnnxErrors.FromRun(e, cancellationToken);
        }
    }

    private static IReadOnlyList<OrtValue> AsList(IDisposableReadOnlyCollection<OrtValue> results)
    {
        if (results is IReadOnlyList<OrtValue> list)
        {
            return list;
        }
        var values = new OrtValue[results.Count];
        var i = 0;
        foreach (var value in results)
        {
            values[i++] = value;
        }
        return values;
    }

    /// <summary>Moves ORT's output values into tensors; on failure every value not yet handed over is released.</summary>
    private Tensor[] TakeOutputs(IReadOnlyList<OrtValue> results, ReadOnlySpan<Tensor> inputs,
        ReadOnlySpan<int> outputIndices)
    {
        var tensors = new Tensor[results.Count];
        var taken = 0;
        try
        {
            for (; taken < tensors.Length; taken++)
            {
                var dtype = _outputDTypes[outputIndices[taken]];
                tensors[taken] = ToTensor(results[taken], dtype, inputs);
            }
            return tensors;
        }
        catch
        {
            for (var i = 0; i < taken; i++)
            {
                tensors[i].Dispose();
            }
            // ToTensor released the value it failed on; the rest were never handed over.
            for (var i = taken + 1; i < results.Count; i++)
            {
                results[i].Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Wraps (numeric) or copies (string) one output value. Takes ownership of <paramref name="value"/> on every path: it
    /// ends up owned by the returned tensor or released.
    /// </summary>
    private static Tensor ToTensor(OrtValue value, DataType dtype, ReadOnlySpan<Tensor> inputs)
    {
        var release = true;
        try
        {
            var shape = value.GetTensorTypeAndShape().Shape;
            if (dtype == DataType.String)
            {
                using var builder = new TensorBuilder(DataType.String);
                var count = checked((int)TensorShape.ElementCount(shape));
                for (var i = 0; i < count; i++)
                {
                    builder.AppendString(value.GetStringElementAsSpan(i));
                }
                return builder.Build(shape);
            }

            var bytes = value.GetTensorMutableRawData();
            var data = Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes));
            if (OverlapsInput(data, bytes.Length, inputs))
            {
                // ORT may alias an output to an input (Identity, Reshape): that memory goes back to the request's pool
                // when the run ends, so such an output is copied instead of wrapped.
                var copy = Tensor.Allocate(dtype, shape);
                bytes.CopyTo(copy.Bytes);
                return copy;
            }
            // From here the tensor owns the value, and FromNative releases it itself if it throws.
            release = false;
            return Tensor.FromNative(dtype, shape, data, bytes.Length, value);
        }
        finally
        {
            if (release)
            {
                value.Dispose();
            }
        }
    }

    private static bool OverlapsInput(void* data, int length, ReadOnlySpan<Tensor> inputs)
    {
        if (length == 0)
        {
            return false;
        }
        var start = (nuint)data;
        var end = start + (nuint)length;
        foreach (var input in inputs)
        {
            if (input.IsString)
            {
                continue;
            }
            var bytes = input.Bytes;
            if (bytes.IsEmpty)
            {
                continue;
            }
            var inputStart = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes));
            var inputEnd = inputStart + (nuint)bytes.Length;
            if (start < inputEnd && inputStart < end)
            {
                return true;
            }
        }
        return false;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _session.Dispose();
        }
    }
}
