// PNG line plots of logged metrics (XChart), written beside metrics.jsonl.
package org.compress.engine.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;

public final class Plots {
    private Plots() {}

    /** One chart of {@code yKeys} against {@code xKey} over the records that have them; returns the file written. */
    public static Path line(Path file, String title, List<Map<String, Object>> records, String xKey, String... yKeys) {
        XYChart chart = chart(title, xKey);
        for (String y : yKeys) addSeries(chart, y, records, xKey, y);
        return save(chart, file);
    }

    private static XYChart chart(String title, String xKey) {
        System.setProperty("java.awt.headless", "true");
        return new XYChartBuilder().width(800).height(500).title(title).xAxisTitle(xKey).build();
    }

    private static void addSeries(XYChart chart, String name, List<Map<String, Object>> records, String xKey, String yKey) {
        List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (Map<String, Object> r : records) {
            if (r.get(xKey) instanceof Number x && r.get(yKey) instanceof Number v) {
                xs.add(x.doubleValue());
                ys.add(v.doubleValue());
            }
        }
        if (!xs.isEmpty()) chart.addSeries(name, xs, ys);
    }

    private static Path save(XYChart chart, Path file) {
        if (chart.getSeriesMap().isEmpty()) return null;
        try {
            BitmapEncoder.saveBitmap(chart, file.toString().replaceAll("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write plot " + file, e);
        }
        return file;
    }
}
