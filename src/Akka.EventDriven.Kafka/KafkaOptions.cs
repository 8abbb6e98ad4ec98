using System.Text;

namespace Akka.EventDriven.Kafka;

/// <summary>Kafka options for Akka.Hosting; null keeps the reference.conf default (or the environment file's value).</summary>
public sealed class KafkaOptions
{
    /// <summary>The brokers (<c>bootstrap-servers</c>; default: the <c>KAFKA_BROKERS</c> environment variable).</summary>
    public string? BootstrapServers { get; set; }

    /// <summary>The consumer group (<c>consumer.group-id</c>; default none).</summary>
    public string? GroupId { get; set; }

    /// <summary>Raw librdkafka properties for every client (<c>properties</c>; default none).</summary>
    public Dictionary<string, string> Properties { get; } = new();

    internal string ToHocon()
    {
        var hocon = new StringBuilder("akka.event-driven.kafka {\n");
        if (BootstrapServers is not null) hocon.Append("  bootstrap-servers = ").Append(HoconText.Quote(BootstrapServers)).Append('\n');
        if (GroupId is not null) hocon.Append("  consumer.group-id = ").Append(HoconText.Quote(GroupId)).Append('\n');
        foreach (var (key, value) in Properties) hocon.Append("  properties.").Append(HoconText.Quote(key)).Append(" = ").Append(HoconText.Quote(value)).Append('\n');
        return hocon.Append("}\n").ToString();
    }
}
