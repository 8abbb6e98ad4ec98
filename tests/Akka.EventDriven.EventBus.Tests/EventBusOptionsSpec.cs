using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Akka.EventDriven.EventBus.Tests;

/// <summary>The hosting options of <c>WithEventBus</c>: what they set reaches the bus's settings, what they leave null
/// keeps the defaults, and a bad value fails at the call, naming its key.</summary>
public sealed class EventBusOptionsSpec
{
    [Fact]
    public void Options_reach_the_bus_settings_and_unset_ones_keep_the_defaults()
    {
        var options = new EventBusOptions
        {
            MaxRetries = 7, DefaultDeadLetterQueue = "ops.poison", DurablePartitions = 4, RequestTimeout = TimeSpan.FromMilliseconds(2500),
        };
        var settings = BusSettings.FromConfig(ConfigurationFactory.ParseString(options.ToHocon()).WithFallback(EventBusConfig.DefaultConfig()));
        Assert.Equal((7, "ops.poison", 4, TimeSpan.FromMilliseconds(2500), 1_048_576),
            (settings.MaxRetries, settings.DefaultDeadLetterQueue, settings.Partitions, settings.RequestTimeout, settings.MaxMessageBytes));
    }

    [Fact]
    public void A_bad_option_fails_when_the_bus_is_wired_naming_the_key()
    {
        var builder = new AkkaConfigurationBuilder(new ServiceCollection(), "bus-options");
        var zero = Assert.Throws<ConfigurationException>(() => builder.WithEventBus(o => o.MaxMessageBytes = 0));
        Assert.Equal("akka.event-driven.bus.max-message-bytes must be positive (was 0).", zero.Message);
        Assert.ThrowsAny<ArgumentException>(() => builder.WithEventBus(o => o.DefaultDeadLetterQueue = "no spaces"));
    }
}
