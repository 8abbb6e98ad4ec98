using Akka.Configuration;
using Akka.Configuration.Hocon;
using Config = Akka.Configuration.Config;

namespace Akka.EventDriven.Kafka;

/// <summary>The embedded <c>reference.conf</c> of this module (<c>akka.event-driven.kafka</c>).</summary>
public static class KafkaConfig
{
    /// <summary>The HOCON path of this module's settings.</summary>
    public const string Path = "akka.event-driven.kafka";

    private static readonly Lazy<Config> Default =
        new(() => ConfigurationFactory.ParseString(EmbeddedReferenceConfig.Read(typeof(KafkaConfig))));

    /// <summary>The module's defaults.</summary>
    public static Config DefaultConfig() => Default.Value;

    /// <summary>The <c>akka.event-driven.kafka</c> block of <paramref name="config"/> over the defaults.</summary>
    internal static Config Section(Config? config) =>
        (config ?? Config.Empty).WithFallback(DefaultConfig()).GetConfig(Path);

    /// <summary>A properties block flattened to librdkafka keys (quoted dotted keys and nested objects both work).</summary>
    internal static Dictionary<string, string> Properties(Config section, string path)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!section.HasPath(path)) return result;
        var value = section.GetValue(path);
        if (value?.GetObject() is { } obj) Flatten(obj, "", result);
        return result;
    }

    private static void Flatten(HoconObject obj, string prefix, Dictionary<string, string> into)
    {
        foreach (var (key, value) in obj.Items)
        {
            var name = prefix.Length == 0 ? key : prefix + "." + key;
            if (value.IsObject()) Flatten(value.GetObject(), name, into);
            else into[name] = value.GetString();
        }
    }

    internal static string? BootstrapServers(Config section)
    {
        var servers = section.GetString("bootstrap-servers", "");
        if (string.IsNullOrWhiteSpace(servers)) servers = Environment.GetEnvironmentVariable("KAFKA_BROKERS");
        return string.IsNullOrWhiteSpace(servers) ? null : servers;
    }
}
