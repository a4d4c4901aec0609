using System.Buffers;
using System.Globalization;
using TensorServe.Models;

namespace TensorServe.Rest;

/// <summary>
/// The GetModelStatus REST body (spec §2.1): <c>GetModelStatusResponse</c> printed by protobuf's
/// <c>MessageToJsonString</c> with whitespace and default-valued fields, so the version is a JSON string, the state and
/// error code are enum names, and an empty error message still appears.
/// </summary>
internal static class ModelStatusJson
{
    public static void Write(IBufferWriter<byte> writer, IReadOnlyList<ModelVersionStatus> statuses)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var json = new ProtobufJsonWriter(writer);
        json.StartObject();
        json.StartList("model_version_status");
        foreach (var status in statuses)
        {
            json.StartObject();
            json.String("version", status.Version.ToString(CultureInfo.InvariantCulture));
            json.String("state", StateName(status.State));
            json.StartObject("status");
            json.String("error_code", ErrorCodes.Name(status.ErrorCode));
            json.String("error_message", status.ErrorMessage);
            json.EndObject();
            json.EndObject();
        }
        json.EndList();
        json.EndObject();
    }

    public static byte[] ToUtf8Bytes(IReadOnlyList<ModelVersionStatus> statuses)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, statuses);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary><c>ModelVersionStatus.State</c> enum names.</summary>
    public static string StateName(ModelVersionState state) => state switch
    {
        ModelVersionState.Unknown => "UNKNOWN",
        ModelVersionState.Start => "START",
        ModelVersionState.Loading => "LOADING",
        ModelVersionState.Available => "AVAILABLE",
        ModelVersionState.Unloading => "UNLOADING",
        ModelVersionState.End => "END",
        // Unreachable: the manager only sets named states.
        _ => ((int)state).ToString(CultureInfo.InvariantCulture),
    };
}
