using System.Collections.Concurrent;
using Akka.Actor;
using Akka.EventDriven.Streaming;
using Akka.Hosting;
using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Akka.EventDriven.Kafka.Tests;

public sealed class HostingSpec
{
    [Fact]
    public async Task WithKafka_and_WithStreaming_configure_settings_and_start_pipelines_with_the_host()
    {
        var seen = new ConcurrentQueue<int>();
        using var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka("hosting-spec", builder => builder
                .WithKafka(o =>
                {
                    o.BootstrapServers = "broker-1:9092";
                    o.GroupId = "analysts";
                    o.Properties["client.id"] = "intelops";
                    // Quotes, backslashes and newlines arrive as given (HoconText), never ending the string early.
                    o.Properties["sasl.password"] = "p\"w\\d\n\" injected = \"x";
                })
                .WithStreaming(s => s.Add(Pipeline.Create("evens").From(Source.From(Enumerable.Range(1, 10))).Where(x => x % 2 == 0).ForEach(seen.Enqueue))
                    .Add(system => Pipeline.Create("second").From(Source.Single(system.Name)).ForEach(_ => { }))
                    .StopTimeout = TimeSpan.FromMilliseconds(2500))))
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var consumer = KafkaConsumerSettings<string, string>.Create(system);
            Assert.Equal("broker-1:9092", consumer.Properties["bootstrap.servers"]);
            Assert.Equal("analysts", consumer.Properties["group.id"]);
            Assert.Equal("intelops", consumer.Properties["client.id"]);
            Assert.Equal("p\"w\\d\n\" injected = \"x", consumer.Properties["sasl.password"]);
            Assert.False(consumer.Properties.ContainsKey("injected"));
            Assert.Equal(TimeSpan.FromMilliseconds(2500), system.Settings.Config.GetTimeSpan("akka.event-driven.streaming.stop-timeout"));
            Assert.Equal("10", consumer.Properties["fetch.wait.max.ms"]);

            var processor = StreamingExtension.Get(system);
            await processor.WhenTerminated("evens").WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(new[] { 2, 4, 6, 8, 10 }, seen.ToArray());
            Assert.Equal(PipelineStatus.Completed, processor.GetStatus("evens"));
            await processor.WhenTerminated("second").WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(["evens", "second"], processor.Pipelines.Order());
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
