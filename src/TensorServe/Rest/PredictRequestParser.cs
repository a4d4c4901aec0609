using System.Buffers;
using System.Text;
using TensorServe.Models;
using TensorServe.Rest.Json;
using TensorServe.Tensors;

namespace TensorServe.Rest;

/// <summary>
/// Top-level facts of a predict body, found before the servable is resolved (spec §1.5 steps 2-4). The offsets locate
/// the first <c>"instances"</c> / <c>"inputs"</c> member values (RapidJSON's <c>FindMember</c> returns the first of
/// duplicate names) so <see cref="PredictRequestParser.ParseInputs"/> can convert them without re-finding them.
/// </summary>
internal readonly record struct PredictRequestEnvelope(string? SignatureName, bool HasInstances, bool HasInputs)
{
    /// <summary>Offset of the root object's '{' (the whole document, for messages that print it).</summary>
    public int DocumentStart { get; init; }

    /// <summary>Offset of the first token of the <c>"instances"</c> value, when <see cref="HasInstances"/>.</summary>
    public int InstancesStart { get; init; }

    /// <summary>Offset of the first token of the <c>"inputs"</c> value, when <see cref="HasInputs"/>.</summary>
    public int InputsStart { get; init; }
}

/// <summary>
/// TF Serving's REST predict request parsing (<c>util/json_tensor.cc</c> <c>FillPredictRequestFromJson</c>, spec §1.5)
/// without a DOM: <see cref="ParseEnvelope"/> validates the whole body in one pass (RapidJSON parses the full document
/// first, so any syntax error wins over every semantic error) and records where the interesting values start;
/// <see cref="ParseInputs"/> walks those values again and writes elements straight into pooled tensor builders, with
/// TF Serving's checks in TF Serving's order and its message texts.
/// </summary>
internal static class PredictRequestParser
{
    /// <summary>TF's <c>TensorShape::MaxDimensions()</c>; deeper nesting is refused before any recursion.</summary>
    internal const int MaxRank = 254;

    public static PredictRequestEnvelope ParseEnvelope(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            // Special-cased by TF Serving before RapidJSON runs: no period, no offset.
            throw ServingException.InvalidArgument("JSON Parse error: The document is empty");
        }

        int documentStart, signatureStart = -1, instancesStart = -1, inputsStart = -1;
        bool rootIsObject;
        string? signatureName = null;
        var signatureIsString = false;
        var reader = new JsonTokenizer(body);
        try
        {
            reader.Read();
            documentStart = reader.TokenStart;
            rootIsObject = reader.TokenType == JsonTokenType.StartObject;
            if (rootIsObject)
            {
                // Each loop turn starts at a member name (or the closing brace) and consumes that member's value.
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var key = Key.Other;
                    if (reader.StringEquals("signature_name"u8))
                    {
                        key = Key.SignatureName;
                    }
                    else if (reader.StringEquals("instances"u8))
                    {
                        key = Key.Instances;
                    }
                    else if (reader.StringEquals("inputs"u8))
                    {
                        key = Key.Inputs;
                    }
                    reader.Read();
                    switch (key)
                    {
                        case Key.SignatureName when signatureStart < 0:
                            signatureStart = reader.TokenStart;
                            signatureIsString = reader.TokenType == JsonTokenType.String;
                            if (signatureIsString)
                            {
                                signatureName = DecodeString(in reader);
                            }
                            break;
                        case Key.Instances when instancesStart < 0:
                            instancesStart = reader.TokenStart;
                            break;
                        case Key.Inputs when inputsStart < 0:
                            inputsStart = reader.TokenStart;
                            break;
                    }
                    reader.Skip();
                }
            }
            else
            {
                while (reader.Read())
                {
                    // Validate the rest of the (non-object) root before reporting its type.
                }
            }
        }
        catch (JsonSyntaxException e)
        {
            throw ServingException.InvalidArgument("JSON Parse error: " + e.Message);
        }
        finally
        {
            reader.Dispose();
        }

        if (!rootIsObject)
        {
            throw FormatError(body, documentStart, "Is not object");
        }
        if (signatureStart >= 0 && !signatureIsString)
        {
            throw ServingException.InvalidArgument(
                $"JSON Value: {JsonDebugWriter.Write(body, documentStart)} not formatted correctly. " +
                "'signature_name' key must be a string value.");
        }
        return new PredictRequestEnvelope(signatureName, instancesStart >= 0, inputsStart >= 0)
        {
            DocumentStart = documentStart,
            InstancesStart = instancesStart,
            InputsStart = inputsStart,
        };
    }

    /// <summary>
    /// Converts the request's <c>"instances"</c> or <c>"inputs"</c> into tensors appended to <paramref name="inputs"/>
    /// in <paramref name="signature"/> input order. On failure nothing is appended (tensors built so far are disposed)
    /// and every pooled buffer is returned. Errors are <see cref="ServingException"/>s with TF Serving's code and text.
    /// </summary>
    /// <param name="requestedSignatureName">The name the body gave (null or empty prints as <c>DEFAULT</c>).</param>
    public static PredictRequestFormat ParseInputs(ReadOnlySpan<byte> body, in PredictRequestEnvelope envelope,
        SignatureDef signature, string? requestedSignatureName, List<KeyValuePair<string, Tensor>> inputs)
    {
        if (signature.Inputs.Count == 0)
        {
            throw ServingException.InvalidArgument("Failed to get input map for signature: " +
                (string.IsNullOrEmpty(requestedSignatureName) ? "DEFAULT" : requestedSignatureName));
        }
        if (envelope.HasInstances && envelope.HasInputs)
        {
            throw FormatError(body, envelope.DocumentStart,
                "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ");
        }
        if (!envelope.HasInstances && !envelope.HasInputs)
        {
            throw ServingException.InvalidArgument("Missing 'inputs' or 'instances' key");
        }

        var firstAppended = inputs.Count;
        var converter = new TensorConverter(body, signature);
        try
        {
            if (envelope.HasInstances)
            {
                converter.ConvertInstances(envelope.InstancesStart, envelope.DocumentStart);
                converter.BuildInto(inputs, batch: true);
                return PredictRequestFormat.Row;
            }
            converter.ConvertInputs(envelope.InputsStart);
            converter.BuildInto(inputs, batch: false);
            return PredictRequestFormat.Columnar;
        }
        catch
        {
            for (var i = firstAppended; i < inputs.Count; i++)
            {
                inputs[i].Value.Dispose();
            }
            inputs.RemoveRange(firstAppended, inputs.Count - firstAppended);
            throw;
        }
        finally
        {
            converter.Dispose();
        }
    }

    private enum Key
    {
        Other,
        SignatureName,
        Instances,
        Inputs,
    }

    /// <summary>TF's <c>FormatError</c>: <c>JSON Value: &lt;dbg&gt; &lt;text&gt;</c>.</summary>
    private static ServingException FormatError(ReadOnlySpan<byte> body, int valueStart, string text) =>
        ServingException.InvalidArgument($"JSON Value: {JsonDebugWriter.Write(body, valueStart)} {text}");

    private static string DecodeString(scoped in JsonTokenizer reader)
    {
        var raw = reader.RawString;
        if (!reader.StringHasEscapes)
        {
            return Encoding.UTF8.GetString(raw);
        }
        var rented = ArrayPool<byte>.Shared.Rent(raw.Length);
        try
        {
            return Encoding.UTF8.GetString(rented, 0, reader.CopyString(rented));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The per-request conversion state: one builder, element shape and element size per signature input (TF's
    /// <c>tensor_map</c>, <c>shape_map</c>, <c>size_map</c>), plus the array-size index of the value being converted.
    /// </summary>
    private ref struct TensorConverter
    {
        private readonly ReadOnlySpan<byte> _body;
        private readonly SignatureDef _signature;
        private readonly byte[][] _aliases;          // UTF-8 input aliases, signature order
        private readonly TensorBuilder?[] _builders;
        private readonly long[]?[] _shapes;           // element shape (row) or tensor shape (columnar); null = absent
        private readonly int[] _sizes;                // values per element (row format)
        private readonly int[] _valueStarts;          // where each input's value starts, for messages
        private JsonArrayIndex? _arrays;
        private int _batch;

        public TensorConverter(ReadOnlySpan<byte> body, SignatureDef signature)
        {
            _body = body;
            _signature = signature;
            var count = signature.Inputs.Count;
            _aliases = new byte[count][];
            for (var i = 0; i < count; i++)
            {
                _aliases[i] = Encoding.UTF8.GetBytes(signature.Inputs[i].Key);
            }
            _builders = new TensorBuilder?[count];
            _shapes = new long[]?[count];
            _sizes = new int[count];
            _valueStarts = new int[count];
        }

        /// <summary>Row format (TF's <c>FillTensorMapFromInstancesList</c>).</summary>
        public void ConvertInstances(int start, int documentStart)
        {
            if (_body[start] != (byte)'[')
            {
                throw FormatError(_body, documentStart, "Expecting 'instances' to be an list/array");
            }
            _arrays = JsonArrayIndex.Build(_body, start);
            var count = _arrays.Count(_arrays.Find(start));
            if (count == 0)
            {
                throw FormatError(_body, documentStart, "No values in 'instances' array");
            }

            var reader = new JsonTokenizer(_body, start);
            try
            {
                reader.Read(); // [
                reader.Read(); // element 0
                var firstIsObject = reader.TokenType == JsonTokenType.StartObject;
                if (!firstIsObject && _aliases.Length > 1)
                {
                    throw ServingException.InvalidArgument(
                        "instances is a plain list, but expecting list of objects as multiple input tensors " +
                        "required as per tensorinfo_map");
                }
                var elementsAreObjects = firstIsObject && !IsBase64Object(reader.TokenStart);
                var seen = new bool[_aliases.Length];
                for (var item = 0; item < count; item++)
                {
                    if (item > 0)
                    {
                        reader.Read();
                    }
                    var elementStart = reader.TokenStart;
                    var isElementObject = reader.TokenType == JsonTokenType.StartObject && !IsBase64Object(elementStart);
                    if (elementsAreObjects)
                    {
                        if (!isElementObject)
                        {
                            throw ServingException.InvalidArgument(
                                $"Expecting object but got list at item {item} of input list");
                        }
                        ConvertNamedElement(ref reader, item, elementStart, seen);
                    }
                    else
                    {
                        if (isElementObject)
                        {
                            throw ServingException.InvalidArgument(
                                $"Expecting value/list but got object at item {item} of input list");
                        }
                        try
                        {
                            // TF takes tensorinfo_map.begin() (unspecified protobuf Map order); we take the first input.
                            AddInstanceItem(ref reader, 0);
                        }
                        catch (ServingException e)
                        {
                            throw ServingException.InvalidArgument(
                                $"Failed to process element: {item} of 'instances' list. Error: {e.StatusString}");
                        }
                    }
                }
                _batch = count;
            }
            finally
            {
                reader.Dispose();
            }
        }

        /// <summary>One <c>{alias: value, ...}</c> element of the row format; the reader ends on its '}'.</summary>
        private void ConvertNamedElement(ref JsonTokenizer reader, int item, int elementStart, bool[] seen)
        {
            Array.Clear(seen);
            var seenCount = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                // TF copies the key through a C string, so a "\u0000" ends it. Keys without escapes (the usual case)
                // are compared in place; the raw span stays valid after the reader moves on.
                ReadOnlySpan<byte> name = reader.StringHasEscapes ? KeyBytes(in reader) : reader.RawString;
                var index = IndexOf(name);
                reader.Read();
                try
                {
                    if (index < 0)
                    {
                        throw ServingException.InvalidArgument(
                            $"JSON object: does not have named input: {Encoding.UTF8.GetString(name)}");
                    }
                    AddInstanceItem(ref reader, index);
                }
                catch (ServingException e)
                {
                    throw ServingException.InvalidArgument(
                        $"Failed to process element: {item} key: {Encoding.UTF8.GetString(name)} of 'instances' list. " +
                        $"Error: {e.StatusString}");
                }
                if (!seen[index])
                {
                    seen[index] = true;
                    seenCount++;
                }
            }
            if (seenCount != _aliases.Length)
            {
                throw ServingException.InvalidArgument(
                    $"Failed to process element: {item} of 'instances' list. JSON object: " +
                    $"{JsonDebugWriter.Write(_body, elementStart)} keys must be equal to: {SortedInputNames()}");
            }
        }

        /// <summary>TF's <c>AddInstanceItem</c>: one element's value for one input, checked against element 0.</summary>
        private void AddInstanceItem(ref JsonTokenizer reader, int index)
        {
            var start = reader.TokenStart;
            var shape = DenseShape(in reader);
            var size = 0;
            Fill(ref reader, 0, shape, index, ref size);
            var expected = _shapes[index];
            if (expected is null)
            {
                _shapes[index] = shape;
                _sizes[index] = size;
                _valueStarts[index] = start;
            }
            else if (_sizes[index] != size)
            {
                throw ServingException.InvalidArgument($"Expecting tensor size: {_sizes[index]} but got: {size}");
            }
            else if (!expected.AsSpan().SequenceEqual(shape))
            {
                throw ServingException.InvalidArgument(
                    $"Expecting shape {ShapeText(expected)} but got: {ShapeText(shape)}");
            }
        }

        /// <summary>Columnar format (TF's <c>FillTensorMapFromInputsMap</c>).</summary>
        public void ConvertInputs(int start)
        {
            _arrays = JsonArrayIndex.Build(_body, start);
            var plain = _body[start] != (byte)'{' || IsBase64Object(start);
            if (plain)
            {
                if (_aliases.Length > 1)
                {
                    throw ServingException.InvalidArgument(
                        "inputs is a plain value/list, but expecting an object as multiple input tensors required " +
                        "as per tensorinfo_map");
                }
                ConvertWholeValue(start, 0);
                return;
            }

            // First member of each alias (FindMember); other keys are ignored.
            var starts = new int[_aliases.Length];
            Array.Fill(starts, -1);
            var reader = new JsonTokenizer(_body, start);
            try
            {
                reader.Read(); // {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var index = -1;
                    for (var i = 0; i < _aliases.Length; i++)
                    {
                        if (starts[i] < 0 && reader.StringEquals(_aliases[i]))
                        {
                            index = i;
                            break;
                        }
                    }
                    reader.Read();
                    if (index >= 0)
                    {
                        starts[index] = reader.TokenStart;
                    }
                    reader.Skip();
                }
            }
            finally
            {
                reader.Dispose();
            }
            for (var i = 0; i < _aliases.Length; i++)
            {
                if (starts[i] < 0)
                {
                    throw ServingException.InvalidArgument(
                        $"Missing named input: {_signature.Inputs[i].Key} in 'inputs' object.");
                }
                ConvertWholeValue(starts[i], i);
            }
        }

        private void ConvertWholeValue(int start, int index)
        {
            var reader = new JsonTokenizer(_body, start);
            try
            {
                reader.Read();
                var shape = DenseShape(in reader);
                var size = 0;
                Fill(ref reader, 0, shape, index, ref size);
                _shapes[index] = shape;
                _sizes[index] = size;
                _valueStarts[index] = start;
            }
            finally
            {
                reader.Dispose();
            }
        }

        /// <summary>TF's <c>GetDenseTensorShape</c>: each nested list's length along the <c>[0]</c> chain.</summary>
        private readonly long[] DenseShape(scoped in JsonTokenizer reader)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return TensorShape.Scalar;
            }
            var arrays = _arrays!;
            var entry = arrays.Find(reader.TokenStart);
            var rank = 1;
            for (var e = entry; arrays.Count(e) > 0 && arrays.FirstIsArray(e); e++)
            {
                if (++rank > MaxRank)
                {
                    throw ServingException.InvalidArgument(
                        $"JSON Value: {JsonDebugWriter.Write(_body, reader.TokenStart)} is nested deeper than the " +
                        $"maximum tensor rank of {MaxRank}");
                }
            }
            var shape = new long[rank];
            for (var d = 0; d < rank; d++)
            {
                shape[d] = arrays.Count(entry + d);
            }
            return shape;
        }

        /// <summary>
        /// TF's <c>FillTensorProto</c> for the value at the reader (which ends on the value's last token). Recursion is
        /// bounded by the rank (at most <see cref="MaxRank"/>): a list deeper than the shape is an error.
        /// </summary>
        private void Fill(ref JsonTokenizer reader, int level, long[] shape, int index, ref int count)
        {
            var rank = shape.Length;
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                if (level != rank)
                {
                    throw ServingException.InvalidArgument(
                        $"JSON Value: {JsonDebugWriter.Write(_body, reader.TokenStart)} found at incorrect level: " +
                        $"{level + 1} in the JSON DOM. Expected at level: {rank}");
                }
                var dtype = _signature.Inputs[index].Value.DType;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    if (dtype != DataType.String)
                    {
                        throw TypeError(reader.TokenStart, "Object", dtype);
                    }
                    AddBase64Object(ref reader, Builder(index));
                }
                else
                {
                    AddValue(in reader, dtype, index);
                }
                count++;
                return;
            }

            if (level >= rank)
            {
                throw ServingException.InvalidArgument(
                    $"Encountered list at unexpected level: {level} expected < {rank}");
            }
            var size = _arrays!.Count(_arrays.Find(reader.TokenStart));
            if (size != shape[level])
            {
                throw ServingException.InvalidArgument(
                    $"Encountered list at unexpected size: {size} at level: {level} expected size: {shape[level]}");
            }
            for (var i = 0; i < size; i++)
            {
                reader.Read();
                Fill(ref reader, level + 1, shape, index, ref count);
            }
            reader.Read(); // ]
        }

        /// <summary>TF's <c>AddValueToTensor</c>: the per-dtype acceptance table of spec §1.5.</summary>
        private void AddValue(scoped in JsonTokenizer reader, DataType dtype, int index)
        {
            var type = reader.TokenType;
            var number = reader.Number;
            var isNumber = type == JsonTokenType.Number;
            switch (dtype)
            {
                case DataType.Float:
                    RequireType(isNumber, in reader, dtype);
                    Builder(index).Append((float)number.GetDouble());
                    break;
                case DataType.Double:
                    RequireType(isNumber, in reader, dtype);
                    Builder(index).Append(number.GetDouble());
                    break;
                case DataType.Int32:
                    RequireType(isNumber && number.IsInt, in reader, dtype);
                    Builder(index).Append(number.GetInt32());
                    break;
                // int_val holds int32; the narrowing to the tensor type wraps like a C++ cast, with no range check.
                case DataType.Int16:
                    RequireType(isNumber && number.IsInt, in reader, dtype);
                    Builder(index).Append((short)number.GetInt32());
                    break;
                case DataType.Int8:
                    RequireType(isNumber && number.IsInt, in reader, dtype);
                    Builder(index).Append((sbyte)number.GetInt32());
                    break;
                case DataType.UInt8:
                    RequireType(isNumber && number.IsInt, in reader, dtype);
                    Builder(index).Append((byte)number.GetInt32());
                    break;
                case DataType.String:
                    RequireType(type == JsonTokenType.String, in reader, dtype);
                    var builder = Builder(index);
                    var raw = reader.RawString;
                    builder.CommitString(reader.CopyString(builder.GetStringSpan(raw.Length)));
                    break;
                case DataType.Int64:
                    RequireType(isNumber && number.IsInt64, in reader, dtype);
                    Builder(index).Append(number.GetInt64());
                    break;
                case DataType.Bool:
                    RequireType(type is JsonTokenType.True or JsonTokenType.False, in reader, dtype);
                    Builder(index).Append(type == JsonTokenType.True ? (byte)1 : (byte)0);
                    break;
                case DataType.UInt32:
                    RequireType(isNumber && number.IsUint, in reader, dtype);
                    Builder(index).Append(number.GetUInt32());
                    break;
                case DataType.UInt64:
                    RequireType(isNumber && number.IsUint64, in reader, dtype);
                    Builder(index).Append(number.GetUInt64());
                    break;
                default:
                    throw ServingException.Unimplemented(
                        $"Conversion of JSON Value: {JsonDebugWriter.Write(_body, reader.TokenStart)} to type: " +
                        DataTypes.Name(dtype));
            }
        }

        private readonly void RequireType(bool accepted, scoped in JsonTokenizer reader, DataType dtype)
        {
            if (!accepted)
            {
                throw TypeError(reader.TokenStart, JsonTypeName(reader.TokenType), dtype);
            }
        }

        private readonly ServingException TypeError(int valueStart, string jsonType, DataType dtype) =>
            ServingException.InvalidArgument(
                $"JSON Value: {JsonDebugWriter.Write(_body, valueStart)} Type: {jsonType} is not of expected type: " +
                DataTypes.Name(dtype));

        private static string JsonTypeName(JsonTokenType type) => type switch
        {
            JsonTokenType.Null => "Null",
            JsonTokenType.False => "False",
            JsonTokenType.True => "True",
            JsonTokenType.StartObject => "Object",
            JsonTokenType.StartArray => "Array",
            JsonTokenType.String => "String",
            _ => "Number",
        };

        /// <summary>
        /// TF's <c>JsonDecodeBase64Object</c>: exactly one member, named <c>b64</c>, holding a string, decoded with
        /// <c>absl::Base64Unescape</c>. The reader starts on the '{' and ends on the '}'.
        /// </summary>
        private readonly void AddBase64Object(ref JsonTokenizer reader, TensorBuilder builder)
        {
            var objectStart = reader.TokenStart;
            int stringStart = -1, stringEnd = -1;
            var escaped = false;
            if (reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.StringEquals("b64"u8) &&
                reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                stringStart = reader.TokenStart + 1;
                stringEnd = reader.TokenEnd - 1;
                escaped = reader.StringHasEscapes;
            }
            if (stringStart < 0 || !reader.Read() || reader.TokenType != JsonTokenType.EndObject)
            {
                throw ServingException.InvalidArgument(
                    $"JSON Value: {JsonDebugWriter.Write(_body, objectStart)} not formatted correctly for base64 data");
            }

            var encoded = _body[stringStart..stringEnd];
            byte[]? rented = null;
            try
            {
                if (escaped)
                {
                    rented = ArrayPool<byte>.Shared.Rent(encoded.Length);
                    encoded = rented.AsSpan(0, JsonTokenizer.Unescape(encoded, true, rented));
                }
                var destination = builder.GetStringSpan(Base64Unescape.MaxDecodedLength(encoded.Length));
                if (!Base64Unescape.TryDecode(encoded, destination, out var written))
                {
                    throw ServingException.InvalidArgument("Unable to base64 decode");
                }
                builder.CommitString(written);
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }

        /// <summary>TF's <c>IsValBase64Object</c> for the object at <paramref name="start"/>.</summary>
        private readonly bool IsBase64Object(int start)
        {
            var reader = new JsonTokenizer(_body, start);
            try
            {
                reader.Read(); // {
                if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName || !reader.StringEquals("b64"u8))
                {
                    return false;
                }
                reader.Read();
                var isString = reader.TokenType == JsonTokenType.String;
                reader.Skip();
                return isString && reader.Read() && reader.TokenType == JsonTokenType.EndObject;
            }
            finally
            {
                reader.Dispose();
            }
        }

        /// <summary>Moves every converted input into <paramref name="inputs"/>, in signature order.</summary>
        public readonly void BuildInto(List<KeyValuePair<string, Tensor>> inputs, bool batch)
        {
            for (var i = 0; i < _aliases.Length; i++)
            {
                var elementShape = _shapes[i];
                if (elementShape is null)
                {
                    continue;
                }
                long[] shape;
                if (batch)
                {
                    shape = new long[elementShape.Length + 1];
                    shape[0] = _batch;
                    elementShape.CopyTo(shape, 1);
                }
                else
                {
                    shape = elementShape;
                }
                inputs.Add(new(_signature.Inputs[i].Key, BuildTensor(i, shape)));
            }
        }

        private readonly Tensor BuildTensor(int index, long[] shape)
        {
            var dtype = _signature.Inputs[index].Value.DType;
            var builder = _builders[index];
            if (builder is null)
            {
                // No element was converted: an empty tensor (any dtype with a dense layout, like TF's empty proto).
                if (dtype != DataType.String && DataTypes.ElementSize(dtype) == 0)
                {
                    throw ServingException.Unimplemented(
                        $"Conversion of JSON Value: {JsonDebugWriter.Write(_body, _valueStarts[index])} to type: " +
                        DataTypes.Name(dtype));
                }
                using var empty = new TensorBuilder(dtype);
                return empty.Build(shape);
            }
            var expected = TensorShape.ElementCount(shape);
            if (builder.Count > expected)
            {
                // Only a repeated key inside one row element adds extra values; TF's Tensor::FromProto keeps the
                // first ones.
                return BuildPrefix(builder, (int)expected, shape);
            }
            return builder.Build(shape);
        }

        private static Tensor BuildPrefix(TensorBuilder source, int count, long[] shape)
        {
            using var prefix = new TensorBuilder(source.DType);
            if (source.DType == DataType.String)
            {
                using var all = source.Build([source.Count]);
                for (var i = 0; i < count; i++)
                {
                    prefix.AppendString(all.GetString(i));
                }
            }
            else
            {
                switch (source.ElementSize)
                {
                    case 1: AppendPrefix(prefix, source.AsSpan<byte>(), count); break;
                    case 2: AppendPrefix(prefix, source.AsSpan<ushort>(), count); break;
                    case 4: AppendPrefix(prefix, source.AsSpan<uint>(), count); break;
                    default: AppendPrefix(prefix, source.AsSpan<ulong>(), count); break;
                }
            }
            return prefix.Build(shape);
        }

        private static void AppendPrefix<T>(TensorBuilder builder, ReadOnlySpan<T> values, int count) where T : unmanaged
        {
            foreach (var value in values[..count])
            {
                builder.Append(value);
            }
        }

        private readonly TensorBuilder Builder(int index) =>
            _builders[index] ??= new TensorBuilder(_signature.Inputs[index].Value.DType);

        private readonly int IndexOf(ReadOnlySpan<byte> name)
        {
            for (var i = 0; i < _aliases.Length; i++)
            {
                if (name.SequenceEqual(_aliases[i]))
                {
                    return i;
                }
            }
            return -1;
        }

        private static byte[] KeyBytes(scoped in JsonTokenizer reader)
        {
            var buffer = new byte[reader.RawString.Length];
            var length = reader.CopyString(buffer);
            var nul = buffer.AsSpan(0, length).IndexOf((byte)0);
            return buffer.AsSpan(0, nul >= 0 ? nul : length).ToArray();
        }

        /// <summary>TF's <c>std::set&lt;string&gt;</c> of input names (byte order) joined with ",".</summary>
        private readonly string SortedInputNames()
        {
            var order = new int[_aliases.Length];
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }
            var aliases = _aliases;
            Array.Sort(order, (a, b) => aliases[a].AsSpan().SequenceCompareTo(aliases[b]));
            var names = new string[order.Length];
            for (var i = 0; i < order.Length; i++)
            {
                names[i] = _signature.Inputs[order[i]].Key;
            }
            return string.Join(",", names);
        }

        /// <summary>TF's <c>ShapeToString</c>: <c>[d0,d1]</c>, <c>[]</c> for a scalar.</summary>
        private static string ShapeText(long[] shape) => "[" + string.Join(",", shape) + "]";

        public void Dispose()
        {
            foreach (var builder in _builders)
            {
                builder?.Dispose();
            }
            _arrays?.Dispose();
            _arrays = null;
        }
    }
}
