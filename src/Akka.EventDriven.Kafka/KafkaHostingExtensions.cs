using Akka.Hosting;

namespace Akka.EventDriven.Kafka;

/// <summary>Akka.Hosting wiring of the Kafka stages' settings.</summary>
public static class KafkaHostingExtensions
{
    /// <summary>Adds the Kafka defaults (reference.conf) and <paramref name="configure"/>'s options over them, so
    /// <c>KafkaConsumerSettings.Create(system)</c> / <c>KafkaProducerSettings.Create(system)</c> see them.</summary>
    public static AkkaConfigurationBuilder WithKafka(this AkkaConfigurationBuilder builder, Action<KafkaOptions>? configure = null)
    {
        var options = new KafkaOptions();
        configure?.Invoke(options);
        builder.AddHocon(options.ToHocon(), HoconAddMode.Prepend);
        builder.AddHocon(KafkaConfig.DefaultConfig(), HoconAddMode.Append);
        return builder;
    }
}
