using TensorServe.Models;

namespace TensorServe.Backends.Onnx;

/// <summary>Loads <c>base_path/&lt;version&gt;/model.onnx</c> into an <see cref="OnnxServable"/> (platform <c>onnx</c>).</summary>
internal sealed class OnnxServableLoader(OnnxBackendOptions options) : IServableLoader
{
    public const string PlatformName = "onnx";
    public const string ModelFileName = "model.onnx";

    public OnnxServableLoader() : this(OnnxBackendOptions.Default)
    {
    }

    public string Platform => PlatformName;

    public OnnxBackendOptions Options { get; } = options;

    public bool CanLoad(string versionPath) => File.Exists(Path.Combine(versionPath, ModelFileName));

    public IServable Load(string versionPath, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var modelPath = Path.Combine(versionPath, ModelFileName);
        if (!File.Exists(modelPath))
        {
            // Worded like TF Serving's missing-SavedModel error, which clients and operators already recognise.
            throw ServingException.NotFound(
                $"Could not find ONNX model {ModelFileName} at supplied export directory path: {versionPath}");
        }
        return OnnxServable.Load(modelPath, Options);
    }
}
