using Tensorflow.Serving;

namespace TensorServe.Models.Config;

/// <summary>
/// Turns the model flags or a <c>ModelServerConfig</c> text file into validated <see cref="ModelConfig"/>s with TF
/// Serving's rules and messages (spec §4.3, §5.5).
/// </summary>
internal static class ModelConfigLoader
{
    /// <summary>Platforms a model config may name. TF Serving registers only "tensorflow"; TensorServe adds "onnx".</summary>
    public static readonly IReadOnlyList<string> SupportedPlatforms = ["tensorflow", "onnx"];

    /// <summary>
    /// Reads and validates a config file. A missing file is NOT_FOUND. A parse error is TF Serving's
    /// <c>Invalid protobuf file: '&lt;path&gt;'</c>, while protobuf's own <c>Error parsing text-format ...</c> line goes to
    /// <paramref name="parseErrorLog"/> (stderr by default), as protobuf logs it there.
    /// </summary>
    public static IReadOnlyList<ModelConfig> LoadFile(string path, TextWriter? parseErrorLog = null)
    {
        string text;
        try
        {
            // Bytes, not ReadAllText: a UTF-8 BOM must reach the parser, which rejects it as protobuf does.
            text = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw ServingException.NotFound($"{path}; No such file or directory");
        }
        ModelServerConfig config;
        try
        {
            config = ProtoTextFormat.Parse<ModelServerConfig>(text);
        }
        catch (ServingException ex)
        {
            (parseErrorLog ?? Console.Error).WriteLine(ex.Message);
            throw ServingException.InvalidArgument($"Invalid protobuf file: '{path}'");
        }
        return FromProto(config);
    }

    /// <summary>
    /// Validates in TF Serving's order (<c>ServerCore::ReloadConfig</c>): unique names over the whole list, then absolute
    /// base paths over the whole list (<c>ValidateModelConfigList</c>), then each model's platform
    /// (<c>CreateStoragePathRoutes</c> / <c>GetPlatform</c>). The first problem found is the error.
    /// </summary>
    public static IReadOnlyList<ModelConfig> FromProto(ModelServerConfig config)
    {
        if (config.ConfigCase != ModelServerConfig.ConfigOneofCase.ModelConfigList)
        {
            return [];
        }
        var models = config.ModelConfigList.Config;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            if (!names.Add(model.Name))
            {
                throw ServingException.InvalidArgument($"Illegal to list model {model.Name} multiple times in config list");
            }
        }
        foreach (var model in models)
        {
            ValidateBasePath(model.Name, model.BasePath);
        }
        var result = new List<ModelConfig>(models.Count);
        foreach (var model in models)
        {
            var platform = Platform(model);
            if (!SupportedPlatforms.Contains(platform))
            {
                throw ServingException.InvalidArgument($"Model {model.Name} requests unsupported platform {platform}");
            }
            result.Add(new ModelConfig(model.Name, model.BasePath, platform, Policy(model.ModelVersionPolicy),
                new Dictionary<string, long>(model.VersionLabels, StringComparer.Ordinal)));
        }
        return result;
    }

    /// <summary>TF Serving's <c>GetPlatform</c>: <c>model_platform</c>, or the deprecated <c>model_type</c> (TENSORFLOW only).</summary>
    private static string Platform(Tensorflow.Serving.ModelConfig model)
    {
#pragma warning disable CS0612 // model_type is deprecated in TF Serving's proto, but it still validates it.
        var type = model.ModelType;
        var hasType = type != ModelType.Unspecified;
        var isTensorFlowType = type == ModelType.Tensorflow;
#pragma warning restore CS0612
        var hasPlatform = model.ModelPlatform.Length > 0;
        if (hasType && hasPlatform)
        {
            throw ServingException.InvalidArgument(
                "Illegal setting both ModelServerConfig::model_type (deprecated) and ModelServerConfig::model_platform, " +
                $"model name is {model.Name}");
        }
        if (hasType && !isTensorFlowType)
        {
            // StrCat of the enum prints its number (OTHER = 2).
            throw ServingException.InvalidArgument(
                $"ModelServerConfig::model_type choice {(int)type} not supported.");
        }
        if (!hasType && !hasPlatform)
        {
            throw ServingException.InvalidArgument(
                "Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform, " +
                $"model name is {model.Name}");
        }
        return hasPlatform ? model.ModelPlatform : "tensorflow";
    }

    /// <summary>
    /// TF Serving requires an absolute path or a URI (<c>UriIsRelativePath</c>: a scheme matching
    /// <c>[a-zA-Z][0-9a-zA-Z.]*</c> before <c>://</c>, as <c>io::ParseURI</c> reads it, or a path starting with '/').
    /// </summary>
    public static void ValidateBasePath(string name, string basePath)
    {
        if (!Path.IsPathRooted(basePath) && !HasUriScheme(basePath))
        {
            throw ServingException.InvalidArgument(
                $"Expected model {name} to have an absolute path or URI; got base_path()={basePath}");
        }
    }

    private static bool HasUriScheme(string uri)
    {
        if (uri.Length == 0 || !char.IsAsciiLetter(uri[0]))
        {
            return false;
        }
        var i = 1;
        while (i < uri.Length && (char.IsAsciiLetterOrDigit(uri[i]) || uri[i] == '.'))
        {
            i++;
        }
        return uri.AsSpan(i).StartsWith("://", StringComparison.Ordinal);
    }

    private static VersionPolicy Policy(FileSystemStoragePathSourceConfig.Types.ServableVersionPolicy? policy) =>
        policy?.PolicyChoiceCase switch
        {
            FileSystemStoragePathSourceConfig.Types.ServableVersionPolicy.PolicyChoiceOneofCase.Latest =>
                new VersionPolicy.Latest(policy.Latest.NumVersions),
            FileSystemStoragePathSourceConfig.Types.ServableVersionPolicy.PolicyChoiceOneofCase.All => new VersionPolicy.All(),
            FileSystemStoragePathSourceConfig.Types.ServableVersionPolicy.PolicyChoiceOneofCase.Specific =>
                new VersionPolicy.Specific(policy.Specific.Versions.ToArray()),
            _ => VersionPolicy.Default,
        };
}
