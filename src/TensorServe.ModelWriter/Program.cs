using System.Text;

namespace TensorServe.ModelWriter;

/// <summary>
/// <c>TensorServe.ModelWriter &lt;output-dir&gt;</c>: writes the demo models in TF Serving's layout
/// (<c>name/1/model.onnx</c>) and a <c>models.config</c> (ModelServerConfig text format) that serves both.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 1 || string.IsNullOrWhiteSpace(args[0]) || args[0].StartsWith('-'))
        {
            Console.Error.WriteLine("usage: TensorServe.ModelWriter <output-dir>");
            Console.Error.WriteLine("  writes <output-dir>/half_plus_two/1/model.onnx, <output-dir>/cifar10/1/model.onnx");
            Console.Error.WriteLine("  and <output-dir>/models.config (model_platform: \"onnx\", absolute base paths)");
            return 2;
        }

        try
        {
            foreach (var line in WriteAll(args[0]))
            {
                Console.WriteLine(line);
            }
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Writes every demo model and the config under <paramref name="outputDir"/>; returns one line per file.</summary>
    public static IReadOnlyList<string> WriteAll(string outputDir)
    {
        var root = Path.GetFullPath(outputDir);
        var models = new (string Name, byte[] Bytes)[]
        {
            ("half_plus_two", DemoModels.HalfPlusTwo()),
            ("cifar10", DemoModels.Cifar10Cnn()),
        };
        var written = new List<string>();
        var config = new StringBuilder("model_config_list {\n");
        foreach (var (name, bytes) in models)
        {
            var basePath = Path.Combine(root, name);
            var versionDir = DemoModels.WriteVersion(basePath, 1, bytes);
            written.Add($"wrote {Path.Combine(versionDir, "model.onnx")} ({bytes.Length} bytes)");
            config.Append("  config {\n")
                .Append("    name: ").Append(Quote(name)).Append('\n')
                .Append("    base_path: ").Append(Quote(basePath)).Append('\n')
                .Append("    model_platform: \"onnx\"\n")
                .Append("  }\n");
        }
        config.Append("}\n");
        var configPath = Path.Combine(root, "models.config");
        File.WriteAllText(configPath, config.ToString(), new UTF8Encoding(false));
        written.Add($"wrote {configPath}");
        return written;
    }

    /// <summary>A text-format string literal (C escapes for quote, backslash and control bytes).</summary>
    private static string Quote(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => sb.Append("\\\""),
                '\\' => sb.Append("\\\\"),
                '\n' => sb.Append("\\n"),
                '\r' => sb.Append("\\r"),
                '\t' => sb.Append("\\t"),
                _ => sb.Append(c),
            };
        }
        return sb.Append('"').ToString();
    }
}
